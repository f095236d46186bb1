"""HTTP entrypoint and helpers: JSON bodies, problem+json errors, cursors, ETags, access log."""

import base64
import binascii
import datetime
import hashlib
import hmac
import json
import os
import re
import time
import uuid
from functools import partial

import structlog
from eventlet.event import Event
from eventlet.wsgi import LoggerNull
from marshmallow import Schema, ValidationError, fields
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from shared import errors, metrics
from shared.db import finish_transactions
from shared.retry import retrying

log = structlog.get_logger()
PROBLEM = "application/problem+json"
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
CURSOR_KEY = "dzdesk.cursor_key"
QUIET_ROUTES = ("/health/", "/metrics")
# ASCII digits only: str.isdigit() also accepts "²", which int() then refuses
_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")
# No API body nests this deep; deeper ones are refused before anything recurses into them.
MAX_JSON_DEPTH = 32


def json_response(body, status=200, headers=None):
    return Response(
        json.dumps(body, default=str), status=status, headers=headers, mimetype="application/json"
    )


def problem(status, title, detail=None, **extra):
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return Response(json.dumps(body, default=str), status=status, content_type=PROBLEM)


def problem_from_exception(exc):
    """The problem document for an exception; unknown ones become a bare 500."""
    if isinstance(exc, ValidationError):
        return problem(400, "Bad Request", "the request body is not valid", errors=exc.messages)
    status = getattr(exc, "status", None)
    if isinstance(status, int) and 400 <= status < 600:
        extra = getattr(exc, "extra", None) or {}
        detail = getattr(exc, "detail", None) or str(exc)
        response = problem(status, getattr(exc, "title", "Error"), detail, **extra)
        if getattr(exc, "retry_after", None):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, HTTPException):
        return problem(exc.code, exc.name, exc.description)
    log.error("unhandled error", exc_info=exc)
    return problem(500, "Internal Server Error", "an unexpected error occurred")


class ProblemWsgiApp(WsgiApp):
    """Routing errors (unknown path, wrong method) answer in problem+json too; every request
    leaves one access log line.

    The probes and /metrics (`ProblemWebServer.direct`) are answered here, in the connection's
    own green thread, and never wait for a worker of the container's pool: a pod whose every
    worker is busy with slow requests is alive and may still be ready."""

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        environ[CURSOR_KEY] = self.server.cursor_key
        request = Request(environ, shallow=True)
        direct = self.server.direct.get(request.path) if request.method == "GET" else None
        if direct is not None:
            return self._answer_directly(direct, request, started)(environ, start_response)
        adapter = self.url_map.bind_to_environ(environ)
        provider = None
        try:
            provider, values = adapter.match()
            request.path_values = values
            response = provider.handle_request(request)
        except Exception as exc:  # never a stack trace on the wire
            response = problem_from_exception(exc)
        access_log(request, getattr(provider, "url", None), response, started)
        return response(environ, start_response)

    def _answer_directly(self, handler, request, started):
        try:
            response = handler(request)
            if not isinstance(response, Response):
                response = json_response(response)
        except Exception as exc:
            response = problem_from_exception(exc)
        service = self.server.container.service_name
        metrics.HTTP_REQUESTS.labels(service, "GET", request.path, response.status_code).inc()
        metrics.HTTP_LATENCY.labels(service, request.path).observe(time.perf_counter() - started)
        access_log(request, request.path, response, started)
        return response


def access_log(request, route, response, started):
    """The route's template, never the path, query, client address, headers or body: any of
    them may carry a person's name (`?q=`), an email in a path, a forwarded IP."""
    level = "debug" if route and route.startswith(QUIET_ROUTES) else "info"
    getattr(log, level)(
        "http request",
        method=request.method,
        route=route or "unmatched",
        status=response.status_code,
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
        correlation_id=response.headers.get("X-Request-ID") or None,
    )


class ProblemWebServer(WebServer):
    cursor_key = None

    def __init__(self):
        super().__init__()
        # path -> handler(request) answered without a worker (see ProblemWsgiApp); filled by
        # shared.health for the probes and /metrics
        self.direct = {}

    def setup(self):
        # every process of a service signs with the same key, its own CURSOR_KEY (required in
        # production), so a cursor from one replica pages on in another; without one (a
        # development process, a bare test container) a key of this process alone
        configured = str(self.container.config.get("CURSOR_KEY") or "").strip()
        secret = configured.encode() if configured else os.urandom(32)
        self.cursor_key = hmac.new(secret, b"dzdesk/cursor/v1", hashlib.sha256).digest()

    def get_wsgi_app(self):
        return ProblemWsgiApp(self)

    def get_wsgi_server(self, sock, wsgi_app, **kwargs):
        # eventlet's own access line holds the client address (X-Forwarded-For included)
        # and the request line with its query string: ProblemWsgiApp logs instead
        server = super().get_wsgi_server(sock, wsgi_app, **kwargs)
        server.log_output = False
        server.log = LoggerNull()
        return server

    def context_data_from_headers(self, request):
        # the gateway's request id is the correlation id of everything this request causes
        incoming = request.headers.get("X-Request-ID", "")
        return {"correlation_id": incoming if REQUEST_ID.match(incoming) else str(uuid.uuid4())}


class HttpEntrypoint(HttpRequestHandler):
    """nameko's http entrypoint, committing before it answers and answering problem+json."""

    server = ProblemWebServer()

    def __init__(
        self, method, url, body=None, responses=None, query=(), path_values=None, **kwargs
    ):
        # `body`, `query` (schemas of the query string), `responses` ({status: Schema}) and
        # `path_values` ({parameter: its values}: a path segment naming one of a few things)
        # document the route in /openapi.json
        self.body = body
        self.query = query
        self.responses = responses
        self.path_values = path_values or {}
        # a refusal (4xx) is the answer, not a fault of the service: nameko logs it as
        # expected (a warning), an unexpected exception stays an error
        kwargs.setdefault("expected_exceptions", (errors.HttpError, ValidationError))
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        started = time.perf_counter()
        request.shallow = False
        context_data = self.server.context_data_from_headers(request)
        try:
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            done = Event()
            self.container.spawn_worker(
                self,
                args,
                kwargs,
                context_data=context_data,
                handle_result=partial(self.handle_result, done),
            )
            response = self.response_from_result(done.wait())
        except Exception as exc:
            response = problem_from_exception(exc)
        response.headers["X-Request-ID"] = context_data.get("correlation_id", "")
        service = self.container.service_name
        metrics.HTTP_REQUESTS.labels(service, request.method, self.url, response.status_code).inc()
        metrics.HTTP_LATENCY.labels(service, self.url).observe(time.perf_counter() - started)
        return response

    def handle_result(self, done, worker_ctx, result, exc_info):
        exc_info = finish_transactions(worker_ctx, exc_info)
        if exc_info is not None:
            done.send_exception(exc_info[1])
        else:
            done.send(result)
        return result, exc_info

    def response_from_result(self, result):
        if isinstance(result, Response):
            return result
        return json_response(result)


http = retrying(HttpEntrypoint.decorator)


def parse_json(raw):
    """The JSON value of a request body: 400 when it is not JSON or nests over MAX_JSON_DEPTH."""
    try:
        value = json.loads(raw or b"null")
    except (ValueError, RecursionError) as exc:
        raise errors.BadRequest("the body is not valid JSON") from exc
    if _nesting(value) > MAX_JSON_DEPTH:
        raise errors.BadRequest(f"the body nests deeper than {MAX_JSON_DEPTH} levels")
    if not _storable(value):
        # PostgreSQL text holds no NUL, and UTF-8 no lone surrogate: refused here, once, so
        # no field of any service meets them in a query (a 500 with the text in its CONTEXT)
        raise errors.BadRequest("text in the body must be Unicode without NUL characters")
    return value


def _storable(value):
    """True when every string in the value (keys too) is UTF-8 encodable and NUL-free."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\0" in item:
                return False
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True


def _nesting(value):
    """Depth of nested arrays and objects, without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:
                children = item.values() if isinstance(item, dict) else item
                pending.extend((child, depth + 1) for child in children)
    return deepest


def json_body(request, schema, partial=False):
    """The request's JSON body loaded through a marshmallow schema (400 / 415 otherwise)."""
    if request.mimetype != "application/json":
        raise errors.UnsupportedMediaType("send the body as application/json")
    payload = parse_json(request.get_data(cache=True))
    if not isinstance(payload, dict):
        raise errors.BadRequest("the body must be a JSON object")
    return schema.load(payload, partial=partial)


def _b64(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_mac(request, scope, payload):
    # bound to the tenant and the route: a cursor is a position in one tenant's list only
    message = "\0".join((str(scope), request.path, payload)).encode()
    return _b64(hmac.new(request.environ[CURSOR_KEY], message, hashlib.sha256).digest()[:16])


def encode_cursor(position, request, scope):
    """An opaque, signed cursor for `position` in this route's list for `scope` (the tenant)."""
    payload = _b64(json.dumps(position, separators=(",", ":")).encode())
    return f"{payload}.{_cursor_mac(request, scope, payload)}"


def decode_cursor(request, scope, valid=lambda position: True, param="cursor"):
    """The position in the request's `cursor` (or the query parameter `param`), None without
    one; 400 when it was not issued by this route for this scope (forged, edited, or another
    tenant's) or not one that `valid` accepts."""
    cursor = request.args.get(param)
    if not cursor:
        return None
    payload, _, mac = cursor.partition(".")
    if not hmac.compare_digest(mac.encode(), _cursor_mac(request, scope, payload).encode()):
        raise errors.BadRequest("the cursor is not valid", field=param)
    try:
        position = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error, RecursionError) as exc:
        raise errors.BadRequest("the cursor is not valid", field=param) from exc
    if not valid(position):
        raise errors.BadRequest("the cursor is not valid", field=param)
    return position


def time_and_id(position):
    """A cursor of list pages ordered by (timestamp, uuid)."""
    if not (
        isinstance(position, list)
        and len(position) == 2
        and all(isinstance(part, str) for part in position)
    ):
        return False
    try:
        datetime.datetime.fromisoformat(position[0])
        uuid.UUID(position[1])
    except ValueError:
        return False
    return True


def sequence_number(position):
    """A cursor of pages ordered by a bigint sequence."""
    return type(position) is int and 0 <= position < 2**63


class LimitQuery(Schema):
    """The `limit` query parameter read by page_limit, for /openapi.json."""

    limit = fields.Integer(metadata={"description": "how many items, from 1"})


class PageQuery(LimitQuery):
    """The query parameters of a paged list (page_limit and decode_cursor), for /openapi.json."""

    cursor = fields.String(metadata={"description": "next_cursor of the previous page"})


def page_limit(request, default=50, maximum=200):
    raw = request.args.get("limit", str(default))
    if not _WHOLE_NUMBER.fullmatch(raw) or not 1 <= int(raw) <= maximum:
        raise errors.BadRequest(f"limit must be a whole number from 1 to {maximum}", field="limit")
    return int(raw)


def page(items, limit, cursor_of, request, scope):
    """A page body from up to limit + 1 items: the extra one says there is a next page."""
    more = len(items) > limit
    items = items[:limit]
    return {
        "items": items,
        "next_cursor": encode_cursor(cursor_of(items[-1]), request, scope) if more else None,
    }


def etag(version):
    return f'"{version}"'


def required_if_match(request):
    """The stream version the client last saw, from If-Match (428 when absent)."""
    header = request.headers.get("If-Match")
    if not header:
        raise errors.PreconditionRequired("send If-Match with the ETag you last read")
    value = header.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not _WHOLE_NUMBER.fullmatch(value):
        raise errors.BadRequest("If-Match must be an ETag of this resource")
    return int(value)
