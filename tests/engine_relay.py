"""A unix-socket relay in front of the real Docker engine that a test can kill: a daemon dying mid-run."""

from __future__ import annotations

import socket
import threading
from pathlib import Path


class EngineRelay:
    """Forwards a unix socket to the real engine until ``kill``: a daemon that stops mid-run.

    After ``kill`` nothing gets through any more: open connections are cut, and a connection the
    accept thread takes after that (the SDK reconnects per request) is closed at once.
    """

    def __init__(self, path: Path, upstream: str) -> None:
        self.upstream = upstream
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(32)
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        self.dead = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            with self.lock:
                if self.dead:
                    client.close()
                    return
                up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                up.connect(self.upstream)
                self.conns += [client, up]
            for a, b in ((client, up), (up, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def kill(self) -> None:
        with self.lock:
            self.dead = True
            # shutdown wakes a thread blocked in accept(); close alone does not on Linux.
            for s in (self.server, *self.conns):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                try:
                    s.close()
                except OSError:
                    pass
