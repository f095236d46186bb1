"""A local HTTPS webhook receiver: a threaded server with a certificate of a throwaway CA.

Each path behaves as the test sets it: `ok` answers 204, `fail` answers 500, `hang` holds the
request until the receiver closes (a dead endpoint that accepts and never answers), `redirect`
answers 307 to another path. Every request is recorded with its headers and raw body, so a
test verifies the signature over the bytes as they came; a load test that cannot hold every
body passes `record`, called with each Received instead of keeping it.
"""

import dataclasses
import ssl
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dzdesk_dev.keys import write_tls_material


@dataclasses.dataclass(frozen=True)
class Received:
    path: str
    headers: dict
    body: bytes
    at: float


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops connections a busy dispatcher opens at once
    # (they time out connecting): a receiver under load must not look dead
    request_queue_size = 128

    def finish_request(self, request, client_address):
        # the TLS handshake in the request's own thread, not in the one accepting connections
        # (there, handshakes queue one behind another and a busy dispatcher's time out)
        try:
            request.settimeout(30)
            request.do_handshake()
        except OSError:
            return
        super().finish_request(request, client_address)


class WebhookReceiver:
    def __init__(self, record=None):
        self._folder = tempfile.TemporaryDirectory(prefix="dzdesk-webhooks-")
        tls = write_tls_material(self._folder.name)
        self.ca_bundle = tls["ca"]
        self.modes = {}
        self.received = []
        self.hanging = 0
        self.lock = threading.Lock()
        self.closing = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                mode = receiver.modes.get(self.path, "ok")
                if mode == "hang":
                    with receiver.lock:
                        receiver.hanging += 1
                    receiver.closing.wait(60)
                    return
                item = Received(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.monotonic(),
                )
                if record is not None:
                    record(item)
                else:
                    with receiver.lock:
                        receiver.received.append(item)
                if mode == "fail":
                    self.send_response(500)
                elif mode == "redirect":
                    self.send_response(307)
                    self.send_header("Location", "/elsewhere")
                else:
                    self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls["cert"], tls["key"])
        self.server.socket = context.wrap_socket(
            self.server.socket, server_side=True, do_handshake_on_connect=False
        )
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        self.base_url = f"https://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path, mode="ok"):
        self.modes[path] = mode
        return self.base_url + path

    def at(self, path):
        """What reached `path` (answered, whatever the answer), in order."""
        with self.lock:
            return [item for item in self.received if item.path == path]

    def close(self):
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()
        self._folder.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
