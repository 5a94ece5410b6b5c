"""The control socket: how ``vbg ctl`` reaches a running live job.

Where: ``$XDG_RUNTIME_DIR/vbg/<name>.sock`` (a per-user tmpfs on systemd systems), else
``<tempdir>/vbg-<uid>/<name>.sock``.  The folder is made 0700 and the socket 0600, and every connection's peer
uid is checked (``SO_PEERCRED``): only the user who started the run can steer it, whatever the folder's fate.

Protocol (one request per connection, both ways one JSON object on one ``\\n``-terminated line)::

    -> {"verb": "color", "args": ["red"]}
    <- {"ok": true, "frame": 812}                     (applied before output frame 812)
    <- {"ok": false, "error": "bad colour 'rd': ..."}  (nothing changed)

``status`` replies ``{"ok": true, "status": {...}}``.  The server thread blocks in ``select`` on the listening
socket and a wake-up pipe, so an idle run spends no CPU on it; the pipeline never waits for a client.
"""

from __future__ import annotations

import json
import os
import select
import socket
import struct
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from ..errors import VbgError

#: a client that connects and says nothing is dropped after this long (the run is not held up meanwhile)
CLIENT_TIMEOUT = 5.0
MAX_REQUEST = 64 * 1024
DEFAULT_NAME = "default"  # a live run started without --name (see vbg.steering.listen)

Handler = Callable[[str, list[str]], dict]


class NameTaken(VbgError):
    """Another live run answers on the socket this one wants."""


def socket_dir() -> Path:
    """The user's private folder for control sockets, made 0700 (and refused if someone else owns it)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    folder = Path(runtime) / "vbg" if runtime and Path(runtime).is_dir() else \
        Path(tempfile.gettempdir()) / f"vbg-{os.getuid()}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.stat()
    if info.st_uid != os.getuid():
        raise VbgError(f"control folder {folder} belongs to another user: remove it, or set XDG_RUNTIME_DIR")
    if info.st_mode & 0o777 != 0o700:
        folder.chmod(0o700)
    return folder


def socket_path(name: str) -> Path:
    if not name or "/" in name or name.startswith("."):
        raise VbgError(f"bad run name {name!r}: use letters, digits, - or _ (e.g. --name call)")
    return socket_dir() / f"{name}.sock"


def request(path: Path, verb: str, args: list[str], timeout: float = 10.0) -> dict:
    """Send one request to the run listening on ``path``; its reply.  ``ConnectionError``/``FileNotFoundError``
    when nothing listens there."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(str(path))
        conn.sendall(json.dumps({"verb": verb, "args": args}).encode() + b"\n")
        reply = _read_line(conn)
    if not reply:
        raise ConnectionError(f"{path} closed the connection without a reply")
    return json.loads(reply)


def _read_line(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n") and len(data) < MAX_REQUEST:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.strip()


def peer_uid(conn: socket.socket) -> int | None:
    """The connecting process's uid (Linux ``SO_PEERCRED``; None where the platform has no such option)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i")))
    return uid


def claim(path: Path) -> None:
    """Make ``path`` free: remove the socket a dead run left behind; ``NameTaken`` when a live run answers there
    (checked before the model compiles too, so the mistake costs no time)."""
    if path.exists() or path.is_symlink():
        try:
            request(path, "ping", [], timeout=2.0)
        except (ConnectionError, OSError, ValueError):
            path.unlink(missing_ok=True)  # nobody answers: a run that died without cleaning up
        else:
            raise NameTaken(f"another vbg run is listening on {path}: give this one another --name "
                            f"(vbg ctl list shows the running ones)")


class ControlServer:
    """Listens on ``path`` and answers each request with ``handler(verb, args)`` (a reply dict) in its own
    thread.  ``close`` stops the thread and removes the socket file."""

    def __init__(self, path: Path, handler: Handler) -> None:
        self.path = path
        self.handler = handler
        self._listener = self._bind(path)
        self._wake_r, self._wake_w = os.pipe()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="ctl-socket", daemon=True)
        self._thread.start()

    @staticmethod
    def _bind(path: Path) -> socket.socket:
        """Bind ``path``, replacing the socket a dead run left behind; a live run there is the user's error."""
        claim(path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # the socket is made 0600 from the start: no window where others may connect
        try:
            listener.bind(str(path))
        except OSError as exc:
            listener.close()
            raise VbgError(f"cannot make the control socket {path}: {exc.strerror}") from None
        finally:
            os.umask(old)
        listener.listen(8)
        return listener

    def _serve(self) -> None:
        while True:
            ready, _, _ = select.select([self._listener, self._wake_r], [], [])
            if self._wake_r in ready or self._closed:
                return
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            with conn:
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        uid = peer_uid(conn)
        try:
            conn.settimeout(CLIENT_TIMEOUT)
            line = _read_line(conn)  # read first either way: a refusal sent unread reaches a client as EPIPE
            if uid is not None and uid != os.getuid():
                reply = {"ok": False, "error": "permission denied: this run belongs to another user"}
            else:
                reply = self._reply(line)
            conn.sendall(json.dumps(reply).encode() + b"\n")
        except OSError:  # the client went away or stalled: its problem, not the run's
            pass

    def _reply(self, line: bytes) -> dict:
        try:
            message = json.loads(line)
            verb, args = str(message["verb"]), [str(a) for a in message.get("args", [])]
        except (ValueError, KeyError, TypeError, AttributeError):
            return {"ok": False, "error": "bad request: send one JSON line {\"verb\": ..., \"args\": [...]}"}
        if verb == "ping":
            return {"ok": True}
        try:
            return self.handler(verb, args)
        except VbgError as exc:
            return {"ok": False, "error": str(exc)}

    def close(self) -> None:
        """Stop listening and remove the socket (called on every way out of the run)."""
        if self._closed:
            return
        self._closed = True
        os.write(self._wake_w, b"x")
        self._thread.join(timeout=5)
        self._listener.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
        self.path.unlink(missing_ok=True)
