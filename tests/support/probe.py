"""A service made only of shared mechanisms, to test them under nameko without a domain."""

import os

import eventlet
import structlog
from marshmallow import Schema, fields, validate

from shared import errors
from shared.db import Database
from shared.eventstore import ConcurrencyError
from shared.health import HealthMixin
from shared.logs import WorkerLogContext
from shared.messaging import event_handler
from shared.relay import OutboxRelay
from shared.rpc import ServiceRpc, rpc
from shared.web import etag, http, json_body, json_response, required_if_match


def hold_while_file_exists(path):
    """A test hook: the handler says it started, then waits while the test holds it."""
    open(path + ".started", "w").close()
    while os.path.exists(path):
        eventlet.sleep(0.02)


class NoteSchema(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=200))
    fail = fields.Boolean(load_default=False)
    block = fields.String(load_default=None)


class ProbeService(HealthMixin):
    name = "probe"

    db = Database()
    log_context = WorkerLogContext()
    relay = OutboxRelay()
    echo = ServiceRpc("echo")

    @http(
        "POST", "/v1/probe/<tenant_id>/streams/<stream_id>", body=NoteSchema, responses={201: None}
    )
    def add_note(self, request, tenant_id, stream_id):
        """Add a note to a stream."""
        note = json_body(request, NoteSchema())
        expected = required_if_match(request)
        self.db.begin(tenant_id)
        envelope = self.db.new_event("note_added", stream_id, note, actor={"system": "probe"})
        try:
            version = self.db.append(stream_id, expected, [envelope])
        except ConcurrencyError as exc:
            raise errors.PreconditionFailed(str(exc)) from exc
        structlog.get_logger().info("note added", version=version)
        return json_response(
            {"version": version, "correlation_id": envelope.correlation_id},
            status=201,
            headers={"ETag": etag(version)},
        )

    @http("GET", "/v1/probe/sleep/<float:seconds>")
    def sleep(self, request, seconds):
        self.db.begin("00000000-0000-0000-0000-000000000001")
        self.db.conn.execute("SELECT pg_sleep(%s)", (seconds,))
        return {"slept": seconds}

    @http("POST", "/v1/probe/<tenant_id>/documents", body=NoteSchema)
    def store_document(self, request, tenant_id):
        """Hands the note to PostgreSQL as JSON: text that is not JSON fails there, in an error
        whose message, DETAIL and CONTEXT echo it (`Token "..." is invalid`, `JSON data, ...`)."""
        note = json_body(request, NoteSchema())
        self.db.begin(tenant_id)
        return {"stored": self.db.conn.execute("SELECT %s::jsonb", (note["text"],)).fetchone()[0]}

    @http("GET", "/v1/probe/crash")
    def crash(self, request):
        raise RuntimeError("secret internals")

    @event_handler("probe", "note_added")
    def handle_probe_note_added(self, event):
        if event.data.get("block"):
            hold_while_file_exists(event.data["block"])
        if event.data.get("fail"):
            raise RuntimeError("the note asked to fail")
        seen = self.db.new_event(
            "note_seen",
            f"seen-{event.stream_id}",
            {"of": event.event_id},
            actor={"system": "probe"},
        )
        self.db.append(seen.stream_id, self.db.version(seen.stream_id), [seen])
        self.echo.remember(event.event_id)


class EchoService:
    """Answers RPC calls and remembers the correlation id each call carried."""

    name = "echo"
    calls = []
    log_context = WorkerLogContext()

    @rpc(callers={"probe"})
    def remember(self, value):
        from shared.logs import current_correlation_id

        EchoService.calls.append((value, current_correlation_id()))
        return value
