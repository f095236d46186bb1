"""The bulk import of historic tickets (POST /v1/tickets/import): NDJSON lines in, one result a
line out, a batch of lines a transaction.

Each line is one ticket of another help desk (schemas.ImportLineSchema). It becomes ordinary
ticket events, decided by the domain as live commands are, each at the ticket's own historic
instant (its events' occurred_at), so SLA clocks and reports over the history are right, and
sealed as usual (title and description under the requester's key, a comment under its
author's), so audit and erasure cover imported tickets like any other:

- ticket_opened at `opened_at`, by the admin who imports (opened_by), for the requester;
- each comment at its `created_at`, by its author (a member: their roles as ticketing's
  members projection knows them), internal or public;
- the moves to the ticket's status at their instants, by the importing admin: a staff move,
  so it counts as the first response when no staff comment came earlier, as on the live desk.

A line whose `external_id` this tenant imported before (`ticket_imports`, or earlier in the
same request) answers `exists` with the ticket's id and writes nothing. A line that cannot be
imported answers `error` with its problem document and writes nothing; it never holds back
the others. The lines of a batch (BATCH_LINES) are written in one transaction: one statement
appends every event of the batch, the read-model rows go in the same round trip.

Limits: a body of at most MAX_BODY_BYTES (413 otherwise), lines of at most MAX_LINE_BYTES and
MAX_LINES lines a request (each line over either is an `error`, the rest is imported).
"""

import io
import json
import operator
import uuid
from datetime import UTC

import psycopg
import structlog
from marshmallow import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from services.ticketing import exceptions, snapshots, store
from services.ticketing.application import TicketDesk
from services.ticketing.domain import (
    MATRIX,
    Actor,
    AddComment,
    OpenTicket,
    TicketingError,
    Transition,
    decide,
)
from services.ticketing.envelopes import decided, envelope_actor, seal, stream_id
from services.ticketing.schemas import ImportLineSchema
from shared import errors
from shared.eventstore import ConcurrencyError
from shared.web import parse_json

log = structlog.get_logger()

MEDIA_TYPE = "application/x-ndjson"
BATCH_LINES = 200
MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024
MAX_LINES = 50_000
LINE = ImportLineSchema()
# the urgency and impact a priority given alone stands for (critical: the override)
_LEVELS_OF = {
    priority: min(pair for pair, value in MATRIX.items() if value == priority)
    for priority in set(MATRIX.values())
}
_LEVELS_OF["critical"] = ("high", "high")


class LineError(Exception):
    """A line that cannot be imported: its problem document is its result."""

    def __init__(self, problem):
        super().__init__(problem.get("detail", problem["title"]))
        self.problem = problem


def problem_of(exc):
    """The problem document of what refused a line (as the API would answer it alone)."""
    if isinstance(exc, LineError):
        return exc.problem
    if isinstance(exc, ValidationError):
        return {
            "status": 400,
            "title": "Bad Request",
            "detail": "the line is not a valid ticket",
            "errors": exc.messages,
        }
    if isinstance(exc, TicketingError):
        exc = exceptions.from_domain(exc)
    body = {"status": exc.status, "title": exc.title, "detail": exc.reason}
    body.update(getattr(exc, "extra", None) or {})
    return body


def read_lines(request):
    """(line number, bytes) of the body's non-blank lines, read as they arrive; a line over a
    limit comes as a LineError in place of its bytes."""
    if request.mimetype != MEDIA_TYPE:
        raise errors.UnsupportedMediaType(f"send the tickets as {MEDIA_TYPE}, one a line")
    if request.content_length is not None:
        request.max_content_length = MAX_BODY_BYTES  # werkzeug answers 413 beyond it
        body = request.stream
    else:  # chunked: werkzeug's stream would be empty
        body = _Bounded(request.environ["wsgi.input"], MAX_BODY_BYTES)
    # buffered: werkzeug's stream alone reads a line a byte at a time
    stream, number, counted = io.BufferedReader(body, 256 * 1024), 0, 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            while raw and not raw.endswith(b"\n"):
                raw = stream.readline(MAX_LINE_BYTES)
            yield number, LineError(_too(f"the line is longer than {MAX_LINE_BYTES} bytes"))
            continue
        if not raw.strip():
            continue
        counted += 1
        if counted > MAX_LINES:
            yield number, LineError(_too(f"over {MAX_LINES} lines a request: send the rest apart"))
            continue
        yield number, raw


class _Bounded(io.RawIOBase):
    """A body of no stated length (chunked), read up to `limit` bytes: 413 beyond."""

    def __init__(self, source, limit):
        self.source, self.left = source, limit

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self.source.read(min(len(buffer), self.left + 1))
        if len(data) > self.left:
            raise RequestEntityTooLarge(f"the body is over {MAX_BODY_BYTES} bytes")
        self.left -= len(data)
        buffer[: len(data)] = data
        return len(data)


def _too(detail):
    return {"status": 413, "title": "Content Too Large", "detail": detail}


def _line(raw):
    """(the line's ticket loaded, or what refused it; the external id it names, if any)."""
    if isinstance(raw, LineError):
        return raw, None
    try:
        value = parse_json(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return errors.BadRequest("the line is not UTF-8"), None
    except errors.HttpError as exc:
        return exc, None
    if not isinstance(value, dict):
        return errors.BadRequest("a line must be a JSON object"), None
    named = value.get("external_id")
    try:
        return LINE.load(value), named if isinstance(named, str) else None
    except ValidationError as exc:
        return exc, named if isinstance(named, str) else None


def _canonical(field, value):
    try:
        return str(uuid.UUID(value))
    except (TypeError, ValueError, AttributeError) as exc:
        raise errors.Unprocessable(
            "must be the UUID of a member", errors={field: ["must be a UUID"]}
        ) from exc


def _levels(line):
    """(urgency, impact) of the line: as given, or those its priority alone stands for."""
    urgency, impact, priority = line["urgency"], line["impact"], line["priority"]
    if line["critical"] and priority not in (None, "critical"):
        raise errors.Unprocessable(
            "a critical ticket has priority critical",
            errors={"priority": ["critical sets the priority to critical"]},
        )
    if priority is None:
        return urgency or "medium", impact or "medium"
    if urgency is None and impact is None:
        return _LEVELS_OF[priority]
    urgency, impact = urgency or "medium", impact or "medium"
    if (MATRIX[(urgency, impact)] if priority != "critical" else priority) != priority:
        raise errors.Unprocessable(
            "priority does not follow from urgency and impact",
            errors={"priority": [f"urgency {urgency} and impact {impact} give another"]},
        )
    return urgency, impact


class Importer:
    """One request's import: lines in, results out, a batch a transaction of its own."""

    def __init__(self, db, cipher, clock, policies, tenant_id, actor):
        self.db, self.cipher, self.clock, self.policies = db, cipher, clock, policies
        self.tenant_id, self.actor = str(tenant_id), actor
        self.seen = {}  # external id -> ticket id, of this request's lines so far

    def run(self, lines):
        """The results of every line, in order."""
        results, batch = [], []
        for number, raw in lines:
            batch.append((number, raw))
            if len(batch) == BATCH_LINES:
                results += self.batch(batch)
                batch = []
        if batch:
            results += self.batch(batch)
        return results

    def batch(self, lines):
        loaded = [(number, *_line(raw)) for number, raw in lines]
        try:
            return self._write(loaded)
        except (psycopg.Error, ConcurrencyError):
            # another request imported some of these lines meanwhile (their external ids):
            # once more, those now answer `exists`
            log.warning("an import batch did not commit; trying it once more", lines=len(lines))
        try:
            return self._write(loaded)
        except (psycopg.Error, ConcurrencyError):
            log.exception("an import batch did not commit", lines=len(lines))
            unavailable = LineError(
                {
                    "status": 503,
                    "title": "Service Unavailable",
                    "detail": "the line could not be written now; send it again",
                }
            )
            return [
                _result(number, named, error=unavailable if isinstance(line, dict) else line)
                for number, line, named in loaded
            ]

    def _write(self, loaded):
        unit = self.db.part()
        try:
            results = self._decide_and_write(unit, loaded)
            unit.finish(commit=True)
        except BaseException:
            unit.finish(commit=False)
            raise
        return results

    def _decide_and_write(self, unit, loaded):
        desk = TicketDesk(unit, self.cipher, self.clock, self.tenant_id, self.policies)
        lines = [(n, line) for n, line, _ in loaded if isinstance(line, dict)]
        before = store.imported(desk.conn, {line["external_id"] for _, line in lines})
        people = set()
        for _, line in lines:
            people.add(line["requester_id"])
            people.update(comment["author_id"] for comment in line["comments"])
        members = store.member_roles(
            desk.conn, {found for p in people if (found := _uuid_or_none(p))}
        )
        now, seen = self.clock.now(), dict(self.seen)
        results, opened, minted = {}, [], []
        for number, line, named in loaded:
            if not isinstance(line, dict):
                results[number] = _result(number, named, error=line)
                continue
            external_id = line["external_id"]
            earlier = before.get(external_id) or seen.get(external_id)
            if earlier:
                results[number] = _result(number, external_id, exists=earlier)
                continue
            try:
                ticket_id, aggregate, envelopes = self._ticket(unit, line, members, now)
            except (TicketingError, errors.HttpError) as exc:
                results[number] = _result(number, external_id, error=exc)
                continue
            seen[external_id] = ticket_id
            opened.append((aggregate, envelopes))
            minted.append((external_id, ticket_id))
            results[number] = _result(number, external_id, created=ticket_id)
        if opened:
            desk.record_new(
                opened, also=lambda conn: store.record_imports(conn, self.tenant_id, minted)
            )
        self.seen = seen  # only once the batch is written (a retry starts from before it)
        return [results[number] for number, *_ in loaded]

    def _ticket(self, unit, line, members, now):
        """(ticket id, Aggregate, envelopes) of one line, decided at its historic instants."""
        admin, ticket_id = self.actor, str(uuid.uuid4())
        urgency, impact = _levels(line)
        opened_at = line["opened_at"]
        steps = [
            (
                opened_at,
                admin,
                OpenTicket(
                    actor=admin,
                    ticket_id=ticket_id,
                    type=line["type"],
                    title=line["title"],
                    description=line["description"],
                    urgency=urgency,
                    impact=impact,
                    critical=line["critical"] or line["priority"] == "critical",
                    category=line["category"],
                    requester_id=line["requester_id"],
                ),
            )
        ]
        later = []
        for index, comment in enumerate(line["comments"]):
            author_id = _canonical("author_id", comment["author_id"])
            roles = admin.roles if author_id == admin.user_id else members.get(author_id)
            if roles is None:
                raise errors.Unprocessable(
                    "a comment's author is no member of this tenant",
                    errors={"comments": {index: {"author_id": ["must name a member"]}}},
                )
            author = Actor(author_id, frozenset(roles))
            later.append(
                (
                    comment["created_at"],
                    0,
                    author,
                    AddComment(
                        actor=author,
                        comment_id=str(uuid.uuid4()),
                        body=comment["body"],
                        internal=comment["internal"],
                    ),
                )
            )
        for at, to, reason in _moves(line):
            later.append((at, 1, admin, Transition(actor=admin, to=to, reason=reason)))
        later.sort(key=operator.itemgetter(0, 1))  # stable: a resolve stays before its close
        # in UTC, as every envelope's occurred_at
        steps = [(at.astimezone(UTC), actor, command) for at, actor, command in steps]
        steps += [(at.astimezone(UTC), actor, command) for at, _, actor, command in later]
        for at, *_ in steps:
            if at < opened_at:
                raise errors.Unprocessable(
                    "the ticket's history starts before it was opened",
                    errors={"opened_at": ["later than another of the ticket's times"]},
                )
            if at > now:
                raise errors.Unprocessable(
                    "an imported ticket's times are in the past",
                    errors={"opened_at": ["the history reaches into the future"]},
                )
        aggregate, envelopes, stream = snapshots.Aggregate(), [], stream_id(ticket_id)
        for at, actor, command in steps:
            for new in decide(aggregate.state, command, at, members):
                envelope = unit.new_event(
                    new.type,
                    stream,
                    new.data,
                    actor=envelope_actor(actor),
                    pii=seal(self.cipher, self.tenant_id, new),
                    occurred_at=at,
                ).with_version(len(envelopes) + 1)
                aggregate.fold(envelope, decided(envelope, new))
                envelopes.append(envelope)
        return ticket_id, aggregate, envelopes


def _moves(line):
    """(instant, status, reason) of the moves that bring a new ticket to the line's status."""
    status = line["status"]
    if status in ("in_progress", "pending"):
        reason = line["pending_reason"] if status == "pending" else None
        return [(line["status_changed_at"] or line["opened_at"], status, reason)]
    if status == "resolved":
        return [(line["resolved_at"], "resolved", None)]
    if status == "closed":
        return [
            (line["resolved_at"] or line["closed_at"], "resolved", None),
            (line["closed_at"], "closed", None),
        ]
    if status == "cancelled":
        return [(line["cancelled_at"], "cancelled", None)]
    return []


def _uuid_or_none(value):
    try:
        return str(uuid.UUID(value))
    except (TypeError, ValueError, AttributeError):
        return None


def _result(number, external_id, created=None, exists=None, error=None):
    result = {"line": number, "external_id": external_id}
    if created:
        return {**result, "status": "created", "ticket_id": created}
    if exists:
        return {**result, "status": "exists", "ticket_id": exists}
    return {**result, "status": "error", "problem": problem_of(error)}


def ndjson(results):
    """The results as the response's NDJSON body."""
    return "".join(json.dumps(result, default=str) + "\n" for result in results)
