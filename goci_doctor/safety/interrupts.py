"""SIGINT, SIGTERM and SIGHUP all stop goci-doctor the same way: cleanly, once.

The first signal raises ``KeyboardInterrupt`` in the main thread, which every command already
turns into "remove our containers, keep the old report, exit". A second signal while that
cleanup runs is absorbed (it used to interrupt the cleanup itself, leaving containers running
and the process waiting for them until ``--timeout``); a third one means the user really wants
out, and the process exits at once — whatever it leaves behind carries a deadline label that
the next goci-doctor sweeps (lab.engine.sweep_stale_containers).

A signal ignored when the process started (``nohup``, a shell's background job) stays ignored,
as the convention for well-behaved programs goes. Imports only the standard library.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up (see model)
if TYPE_CHECKING:
    from typing import Any

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_received: list[int] = []
_lock = threading.Lock()


def _handler(signum: int, _frame: FrameType | None) -> None:
    with _lock:
        _received.append(signum)
        count = len(_received)
    if count == 1:
        raise KeyboardInterrupt
    if count >= 3:
        os.write(2, b"goci-doctor: interrupted again: exiting now (the next run removes what is left)\n")
        os._exit(128 + _received[0])
    # The second one: the cleanup started by the first is under way; let it finish.


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Handle SIGINT/SIGTERM/SIGHUP as described above while the block runs, then restore the
    previous handlers (``main`` may be called in-process). Main thread only; elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()
    previous: dict[int, Any] = {}
    for sig in HANDLED:
        if signal.getsignal(sig) is signal.SIG_IGN:
            continue
        previous[sig] = signal.signal(sig, _handler)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def first_signal() -> int | None:
    """The signal that interrupted this process, if one did."""
    return _received[0] if _received else None


def exit_code_and_message() -> tuple[int, str]:
    """What ``main`` prints and returns after an interruption: 130 for Ctrl-C, 128+N for others."""
    sig = first_signal()
    if sig is None or sig == signal.SIGINT:
        return 130, "goci-doctor: interrupted"
    return 128 + sig, f"goci-doctor: stopped by {signal.Signals(sig).name}"
