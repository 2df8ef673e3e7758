"""``python -m goci_doctor`` and the ``goci-doctor`` command (``entry``).

Imports: cli (inside ``entry``, so that Ctrl-C while it loads is one line, not a traceback).
"""

import gc
import os
import sys


def entry() -> None:
    """Run the CLI; Ctrl-C (or SIGTERM/SIGHUP) while it still loads exits 130 with one line."""
    # Off while starting (all that start-up allocates stays alive); ``goci_doctor.started`` turns it on.
    gc.disable()
    try:
        from goci_doctor.cli import main
    except KeyboardInterrupt:  # nothing to clean yet
        sys.stderr.write("goci-doctor: interrupted\n")
        sys.stderr.flush()
        # os._exit: an interrupt that went through an import would make the interpreter kill itself
        # with SIGINT on the way out (exit status -2 instead of the documented 130).
        os._exit(130)
    code = main()
    if code >= 128:
        # Interrupted (130, or 128+N for SIGTERM/SIGHUP): main has cleaned up and said so. Leave now
        # with that status: an interrupt that went through an import makes the interpreter's own exit
        # kill the process with SIGINT instead (status -2, not the documented 130).
        import atexit

        sys.stdout.flush()
        sys.stderr.flush()
        atexit._run_exitfuncs()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
