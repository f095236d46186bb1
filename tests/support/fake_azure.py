"""A local fake Azure OpenAI chat-completions endpoint that records every request and can fail or
stall on demand."""

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: dict | None
    raw_body: bytes


def echo_reply(body: dict) -> str:
    """Answers with the user's message, so placeholders sent out come back in the answer."""
    user = [m.get("content", "") for m in body.get("messages", []) if m.get("role") == "user"]
    return "Summary: " + (user[-1] if user else "")


class FakeAzureOpenAI:
    """Serves ``POST /openai/deployments/<deployment>/chat/completions?api-version=...`` on
    127.0.0.1."""

    def __init__(
        self,
        api_key: str | None = None,
        deployment: str | None = None,
        reply: Callable[[dict], str] = echo_reply,
    ):
        self.api_key = api_key or uuid.uuid4().hex
        self.deployment = deployment or f"gpt-{uuid.uuid4().hex[:8]}"
        self.reply = reply
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._failures: list[tuple[int, dict[str, str]]] = []
        self._delays: list[float] = []
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, status: int, times: int = 1, retry_after: float | None = None) -> None:
        """The next ``times`` requests get ``status`` (e.g. 429, 500) instead of a completion."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        with self._lock:
            self._failures += [(status, headers)] * times

    def delay_next(self, seconds: float, times: int = 1) -> None:
        """The next ``times`` requests stall ``seconds`` before answering (for client timeouts)."""
        with self._lock:
            self._delays += [seconds] * times

    def start(self) -> "FakeAzureOpenAI":
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-azure",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakeAzureOpenAI":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _next_behaviour(self) -> tuple[float, tuple[int, dict[str, str]] | None]:
        with self._lock:
            delay = self._delays.pop(0) if self._delays else 0.0
            failure = self._failures.pop(0) if self._failures else None
        return delay, failure

    def _record(self, handler: BaseHTTPRequestHandler, raw: bytes) -> RecordedRequest:
        url = urlsplit(handler.path)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        request = RecordedRequest(
            handler.command,
            url.path,
            parse_qs(url.query),
            {name.lower(): value for name, value in handler.headers.items()},
            body,
            raw,
        )
        with self._lock:
            self.requests.append(request)
        return request

    def _answer(self, request: RecordedRequest) -> tuple[int, dict, dict[str, str]]:
        delay, failure = self._next_behaviour()
        if delay:
            self._stopping.wait(delay)
        if failure is not None:
            status, headers = failure
            return status, {"error": {"code": str(status), "message": "injected failure"}}, headers
        if request.path != f"/openai/deployments/{self.deployment}/chat/completions":
            return (
                404,
                {"error": {"code": "DeploymentNotFound", "message": "no such deployment"}},
                {},
            )
        if not request.query.get("api-version"):
            return 404, {"error": {"code": "404", "message": "api-version missing"}}, {}
        if request.headers.get("api-key") != self.api_key:
            return (
                401,
                {
                    "error": {
                        "code": "401",
                        "message": "Access denied due to invalid subscription key.",
                    }
                },
                {},
            )
        if not isinstance(request.body, dict) or not isinstance(request.body.get("messages"), list):
            return 400, {"error": {"code": "BadRequest", "message": "messages required"}}, {}
        completion = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.deployment,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.reply(request.body)},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }
        return 200, completion, {}


def _handler_for(fake: FakeAzureOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, payload, headers = fake._answer(fake._record(self, raw))
            encoded = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(encoded)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(encoded)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (timeout tests)

        def log_message(self, *args):
            pass

    return Handler
