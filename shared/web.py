"""HTTP entrypoint and helpers: JSON bodies, problem+json errors, cursors, ETags."""
import base64
import binascii
import json
import re
import time
import uuid
from functools import partial

import structlog
from eventlet.event import Event
from marshmallow import ValidationError
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from shared import errors, metrics
from shared.db import finish_transactions

log = structlog.get_logger()
PROBLEM = "application/problem+json"
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def json_response(body, status=200, headers=None):
    return Response(json.dumps(body, default=str), status=status, headers=headers,
                    mimetype="application/json")


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
    """Routing errors (unknown path, wrong method) answer in problem+json too."""

    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
            request.path_values = values
            response = provider.handle_request(request)
        except Exception as exc:  # never a stack trace on the wire
            response = problem_from_exception(exc)
        return response(environ, start_response)


class ProblemWebServer(WebServer):
    def get_wsgi_app(self):
        return ProblemWsgiApp(self)

    def context_data_from_headers(self, request):
        # the gateway's request id is the correlation id of everything this request causes
        incoming = request.headers.get("X-Request-ID", "")
        return {"correlation_id": incoming if REQUEST_ID.match(incoming) else str(uuid.uuid4())}


class HttpEntrypoint(HttpRequestHandler):
    """nameko's http entrypoint, committing before it answers and answering problem+json."""

    server = ProblemWebServer()

    def __init__(self, method, url, body=None, responses=None, **kwargs):
        # `body` and `responses` ({status: Schema}) document the route in /openapi.json
        self.body = body
        self.responses = responses
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        started = time.perf_counter()
        request.shallow = False
        context_data = self.server.context_data_from_headers(request)
        try:
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            done = Event()
            self.container.spawn_worker(self, args, kwargs, context_data=context_data,
                                        handle_result=partial(self.handle_result, done))
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


http = HttpEntrypoint.decorator


def json_body(request, schema, partial=False):
    """The request's JSON body loaded through a marshmallow schema (400 / 415 otherwise)."""
    if request.mimetype != "application/json":
        raise errors.UnsupportedMediaType("send the body as application/json")
    try:
        payload = json.loads(request.get_data(cache=True) or b"null")
    except ValueError as exc:
        raise errors.BadRequest("the body is not valid JSON") from exc
    if not isinstance(payload, dict):
        raise errors.BadRequest("the body must be a JSON object")
    return schema.load(payload, partial=partial)


def encode_cursor(position):
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor):
    if not cursor:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise errors.BadRequest("the cursor is not valid", field="cursor") from exc


def page_limit(request, default=50, maximum=200):
    raw = request.args.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise errors.BadRequest(f"limit must be a whole number from 1 to {maximum}",
                                field="limit")
    return int(raw)


def page(items, limit, cursor_of):
    """A page body from up to limit + 1 items: the extra one says there is a next page."""
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_cursor": encode_cursor(cursor_of(items[-1])) if more else None}


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
    if not value.isdigit():
        raise errors.BadRequest("If-Match must be an ETag of this resource")
    return int(value)
