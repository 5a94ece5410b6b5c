"""The control page's HTTP server: the standard library's ``ThreadingHTTPServer`` on 127.0.0.1.

Why the standard library: the page needs a dozen small requests a second at most, and a web framework would
be a heavy dependency for that.  Every change goes through ``Steering.handle``, the path ``vbg ctl`` takes,
so the page can do nothing the control socket could not, and checks nothing twice.

A browser is a confused deputy: any site it visits may send requests to 127.0.0.1.  So every request must
carry the run's random token (``?token=`` or the ``X-Vbg-Token`` header), its Host must be this server's own
(``127.0.0.1:PORT`` or ``localhost:PORT``, against DNS rebinding), and a request that changes something must
not come from another origin; otherwise it gets 403.  Files are chosen by thumbnail ID and uploads are stored
under names vbg makes (``uploads``), so no path from the page reaches the file system.
"""

from __future__ import annotations

import hmac
import json
import secrets
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from ..errors import VbgError, notice
from .library import Library, entry_id
from .preview import PreviewEncoder
from .uploads import MAX_UPLOAD, too_large

if TYPE_CHECKING:
    from ..steering import Steering

PAGE = Path(__file__).with_name("page.html")
LOOPBACK = "127.0.0.1"
MAX_JSON = 4096  # bytes: a command is a few words
#: verbs the page may send; a file is never named by the page (background: "next" only, pause: no picture)
PAGE_VERBS = ("mode", "blur", "color", "pause", "resume", "mirror", "overlay", "background")
HEADERS = {
    "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; img-src 'self' blob:; style-src 'unsafe-inline'; "
                               "script-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
}


class PanelServer:
    """Binds at once (a taken port fails before the model compiles), serves once ``start`` gives it the run's
    ``Steering``; ``close`` stops it (every way out of the run calls it)."""

    def __init__(self, port: int = 0, library: Library | None = None) -> None:
        self.token = secrets.token_urlsafe(24)
        self.library = library or Library()
        self.steering: Steering | None = None
        self.preview: PreviewEncoder | None = None
        try:
            self.httpd = _Http((LOOPBACK, port), PanelHandler)
        except OSError as exc:
            raise VbgError(f"--panel {port}: cannot listen on {LOOPBACK}:{port} ({exc.strerror}): choose another "
                           f"port, or give --panel alone for a free one") from None
        self.httpd.panel = self
        self.port = self.httpd.server_address[1]
        self.hosts = (f"{LOOPBACK}:{self.port}", f"localhost:{self.port}")
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/?token={self.token}"

    def start(self, steering: Steering) -> None:
        self.steering = steering
        self.preview = PreviewEncoder(steering.picture)
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="panel", daemon=True)
        self._thread.start()
        notice(f"control page: {self.url} (this computer only)")

    def close(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread = None
        self.httpd.server_close()


class _Http(ThreadingHTTPServer):
    daemon_threads = True  # a page left open does not hold the run's exit
    panel: PanelServer

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # HTTPServer's would look the host name up (DNS)
        self.server_name, self.server_port = LOOPBACK, self.server_address[1]

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):  # a page closed mid-answer
            super().handle_error(request, client_address)


class PanelHandler(BaseHTTPRequestHandler):
    """One request: checked (``refusal``), then answered from the run's ``Steering`` and ``Library``."""

    server: _Http
    server_version = "vbg"
    sys_version = ""
    timeout = 10  # seconds: a client that stalls mid-request is dropped

    def log_message(self, format, *args) -> None:
        pass  # the run's stderr is for the run

    # -- checks ------------------------------------------------------------------------------------------------
    def refusal(self, changes: bool) -> str | None:
        """Why this request is refused (403), or None: host, token, and for changes the origin."""
        panel = self.server.panel
        hosts = self.headers.get_all("Host") or []
        if len(hosts) != 1 or hosts[0] not in panel.hosts:
            return "wrong Host: open the page at the address vbg printed"
        query = parse_qs(urlsplit(self.path).query)
        token = self.headers.get("X-Vbg-Token") or (query.get("token") or [""])[0]
        if not hmac.compare_digest(token.encode(), panel.token.encode()):
            return "missing or wrong token: open the page at the address vbg printed, with its ?token="
        if changes:
            origin = self.headers.get("Origin")
            if origin is not None and origin != f"http://{hosts[0]}":
                return f"requests from {origin} may not steer this run"
            if self.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
                return "cross-site requests may not steer this run"
        return None

    # -- routes ------------------------------------------------------------------------------------------------
    def do_GET(self) -> None:
        if self._refused(changes=False):
            return
        panel, route = self.server.panel, urlsplit(self.path).path
        if route == "/":
            self._send(200, PAGE.read_bytes(), "text/html; charset=utf-8")
        elif route == "/api/status":
            self._reply(panel.steering.handle("status", []))
        elif route == "/api/backgrounds":
            listing = panel.library.listing(panel.steering.status())
            self._reply({"ok": True, "backgrounds": listing, "max_upload": MAX_UPLOAD})
        elif route.startswith("/thumb/"):
            self._thumbnail(route.removeprefix("/thumb/"))
        elif route == "/preview.jpg":
            jpeg = panel.preview.jpeg()
            self._send(200, jpeg, "image/jpeg") if jpeg else self._error(503, "no picture yet")
        else:
            self._error(404, f"no such page: {route}")

    def do_POST(self) -> None:
        if self._refused(changes=True):
            return
        route = urlsplit(self.path).path
        try:
            if route == "/api/upload":
                self._upload()
            elif route == "/api/command":
                self._command()
            elif route == "/api/background":
                self._choose()
            else:
                self._error(404, f"no such action: {route}")
        except VbgError as exc:
            self._error(400, str(exc))

    def _thumbnail(self, wanted: str) -> None:
        panel = self.server.panel
        entry = panel.library.find(wanted)
        if entry is None:
            self._error(404, "no such background")
            return
        try:
            self._send(200, panel.library.thumbnail(entry), "image/jpeg")
        except VbgError as exc:
            self._error(422, str(exc))

    def _command(self) -> None:
        """A verb from the page's buttons and slider, as ``vbg ctl`` sends it."""
        message = self._json_body()
        verb, args = str(message.get("verb")), [str(a) for a in message.get("args") or []]
        if verb not in PAGE_VERBS:
            raise VbgError(f"the page cannot send {verb!r}: use one of {', '.join(PAGE_VERBS)}")
        if (verb == "background" and args != ["next"]) or (verb == "pause" and args):
            raise VbgError(f"{verb}: the page chooses pictures by their thumbnail, never by a file name")
        self._reply(self.server.panel.steering.handle(verb, args))

    def _choose(self) -> None:
        """Show the background whose thumbnail was clicked."""
        panel = self.server.panel
        entry = panel.library.find(str(self._json_body().get("id")))
        if entry is None:
            self._error(404, "no such background: reload the page")
            return
        self._reply(panel.steering.handle("background", [str(entry.path)]))

    def _upload(self) -> None:
        """A dropped file: kept (checked, named by vbg) and shown; removed again if the run cannot show it."""
        panel = self.server.panel
        data = self._body(MAX_UPLOAD, too_large)
        if data is None:
            return
        path = panel.library.add(data)
        reply = panel.steering.handle("background", [str(path)])
        if not reply.get("ok"):
            path.unlink(missing_ok=True)
        self._reply({**reply, "id": entry_id(path)} if reply.get("ok") else reply)

    # -- bodies and answers ------------------------------------------------------------------------------------
    def _json_body(self) -> dict:
        data = self._body(MAX_JSON, lambda size: f"a {size}-byte request is too large for a command")
        try:
            message = json.loads(data) if data is not None else None
        except ValueError:
            message = None
        if not isinstance(message, dict):
            raise VbgError('bad request: send one JSON object, e.g. {"verb": "mode", "args": ["blur"]}')
        return message

    def _body(self, limit: int, too_big) -> bytes | None:
        """The request body of at most ``limit`` bytes; None once a refusal (411, 413) has been sent."""
        length = self.headers.get("Content-Length", "")
        if not length.isdigit() or self.headers.get("Transfer-Encoding"):
            self._error(411, "send the body with a Content-Length")
            return None
        size = int(length)
        if size > limit:
            self._error(413, too_big(size))
            self._drain(size)
            return None
        data = self.rfile.read(size)
        if len(data) < size:
            raise VbgError("the upload was cut short: try again")
        return data

    def _drain(self, size: int) -> None:
        """Read a refused body (up to a bound) so the client sees the answer instead of a reset connection."""
        left = size if size <= 4 * MAX_UPLOAD else 0
        while left > 0:
            chunk = self.rfile.read(min(left, 1 << 20))
            if not chunk:
                break
            left -= len(chunk)

    def _refused(self, changes: bool) -> bool:
        reason = self.refusal(changes)
        if reason is not None:
            self._error(403, reason)
        return reason is not None

    def _reply(self, reply: dict) -> None:
        self._send(200 if reply.get("ok") else 400, json.dumps(reply).encode(), "application/json")

    def _error(self, code: int, message: str) -> None:
        self._send(code, json.dumps({"ok": False, "error": message}).encode(), "application/json")

    def _send(self, code: int, body: bytes, kind: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
