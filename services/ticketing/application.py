"""The ticket desk: load a ticket from its snapshot, decide, seal, append and project."""

import collections
import dataclasses
import itertools
import types
import uuid

import psycopg

from services.ticketing import exceptions, group_store, projections, reports, snapshots, store
from services.ticketing.domain import (
    Actor,
    ApplyApprovalPolicy,
    Comment,
    FieldDefinition,
    OpenTicket,
    RecordApproval,
    RecordSlaAlert,
    RecordSlaEscalation,
    ResolveWithParent,
    SetFields,
    TicketingError,
    can_view,
    change_field,
    children_to_resolve,
    decide,
    define_field,
    mirror_command,
    remove_field,
    replay,
)
from services.ticketing.domain.approvals import clean_stages, stage_document
from services.ticketing.domain.model import STAFF_ROLES
from services.ticketing.envelopes import (
    decided,
    envelope_actor,
    opened,
    seal,
    stream_id,
    ticket_id_of,
)
from services.ticketing.groups import Groups, routing_trigger
from services.ticketing.schemas import (
    POLICIES_MAX,
    POLICY_ID,
    load_policies,
    policy_document,
)
from services.ticketing.sla import (
    DEFAULT_POLICY_ID,
    SlaHistory,
    SlaMatch,
    default_policies,
    escalation_steps,
    next_sla_timers,
    sla_history,
    sla_status,
)
from shared import eventstore, metrics
from shared.eventstore import ConcurrencyError

POLICY_STREAM = "sla-policy"
POLICY_SET, POLICIES_SET = "sla_policy_set", "sla_policies_set"
# the tenant's custom ticket field definitions (not "ticket-...": those are tickets' streams)
FIELDS_STREAM = "field-definitions"
EXTERNAL_ID_INDEX = "tickets_external_id"
APPROVAL_POLICY_STREAM = "approval-policy"


def checked_id(ticket_id):
    """The canonical ticket id; anything that is not a UUID names no ticket."""
    try:
        return str(uuid.UUID(str(ticket_id)))
    except ValueError as exc:
        raise exceptions.TicketNotFound("ticket not found") from exc


def _comment(row):
    return Comment(
        comment_id=str(row["comment_id"]),
        author_id=row["author_id"],
        body=row["body"],
        internal=row["internal"],
        created_at=row["created_at"],
        edited_at=row["edited_at"],
    )


def matchable(row):
    """What an SLA policy's match reads of a read-model row (its custom fields when the row
    has them)."""
    return types.SimpleNamespace(
        type=row["type"],
        priority=row["priority"],
        group_id=row["group_id"],
        # the custom fields as the ticket holds them: plain and sealed (in clear until erasure)
        fields={**(row.get("fields") or {}), **(row.get("personal_fields") or {})},
    )


def clocks(policy, history, now):
    """The ticket's SLA clocks under the policy that applies to it, and that policy's id."""
    return {**sla_status(policy, history, now), "policy_id": policy.policy_id}


class PolicyCache:
    """Each tenant's SLA policies (sla.SlaPolicies) as this process last read them, with their
    stored version (0: the built-in default). Never trusted on its own: the statement that
    writes a ticket's row also reads the stored version, and a row projected from older
    policies is projected again at once (see TicketDesk.project), so a change made through any
    process counts from the next write."""

    def __init__(self, size=1024):
        self.size = size
        self._entries = collections.OrderedDict()

    def get(self, tenant_id):
        entry = self._entries.get(tenant_id)
        if entry is not None:
            self._entries.move_to_end(tenant_id)
        return entry

    def put(self, tenant_id, version, policy):
        self._entries[tenant_id] = (version, policy)
        self._entries.move_to_end(tenant_id)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def drop(self, tenant_id):
        self._entries.pop(tenant_id, None)


# Each tenant's field definitions as this process last read them, with the version of their
# stream: a write deciding on them reads the stored version in its append's round trip, and
# one decided on an older version is decided again (ConcurrencyError), so the cache saves the
# look-up on every create without ever deciding on stale definitions.
FIELD_CACHE = PolicyCache()


class TicketDesk:
    def __init__(self, db, cipher, clock, tenant_id, policies=None):
        self.db, self.cipher, self.clock = db, cipher, clock
        self.tenant_id = str(tenant_id)
        self.conn = db.begin(self.tenant_id)
        self._policy = None
        self._policies = policies or PolicyCache(size=1)
        # tickets this worker already loaded: a second command in the same unit needs no reload
        self._loaded = {}
        # (row, SLA clocks) of tickets this unit opened: the whole ticket, no read-back needed
        self._opened = {}
        self._groups = None

    # reading

    def policies(self):
        """The tenant's SlaPolicies: the ordered conditional ones and the default."""
        if self._policy is None:
            self._policy = self._read_policy()[1]
        return self._policy

    def policy(self):
        """The tenant's default SLA policy (the one for tickets no conditional policy matches)."""
        return self.policies().default

    def policy_for(self, ticket):
        """The SLA policy that applies to a ticket (a Ticket, or `matchable(row)`) now."""
        return self.policies().for_ticket(ticket)

    def _read_policy(self):
        """(version, SlaPolicies) as stored now, remembered for the process's next writes."""
        stored = store.load_policies(self.conn)
        version = stored[2] if stored else 0
        cached = self._policies.get(self.tenant_id)
        if cached is not None and cached[0] == version:
            return cached  # the documents of that version are parsed already
        policies = load_policies(stored[0], stored[1]) if stored else default_policies()
        self._policies.put(self.tenant_id, version, policies)
        return self._policies.get(self.tenant_id)

    def events(self, ticket_id):
        """Every event of the ticket, personal fields opened (history, rebuilds, purges)."""
        return [opened(self.cipher, e) for e in self.db.load(stream_id(ticket_id))]

    def load(self, ticket_id):
        """The ticket's Aggregate: its snapshot, then the few events after it."""
        if ticket_id in self._loaded:
            return self._loaded[ticket_id]
        stream, aggregate = stream_id(ticket_id), None
        snapshot = eventstore.load_snapshot(self.conn, self.tenant_id, stream)
        if snapshot:
            aggregate = snapshots.restore(self.cipher, self.tenant_id, *snapshot)
        aggregate = aggregate or snapshots.Aggregate()
        for envelope in self.db.load(stream, aggregate.version):
            aggregate.fold(envelope, opened(self.cipher, envelope))
        self._loaded[ticket_id] = aggregate
        return aggregate

    def row(self, ticket_id, actor):
        """The ticket's read-model row, if the actor may see it; 404 otherwise, whatever the
        reason."""
        row = store.get_ticket(self.conn, checked_id(ticket_id))
        if row is None or not can_view(
            types.SimpleNamespace(
                requester_id=row["requester_id"], watchers=frozenset(row["watchers"])
            ),
            actor,
        ):
            raise exceptions.TicketNotFound("ticket not found")
        return row

    def timeline(self, ticket_id, actor):
        """(events, envelopes) of a ticket the actor may see, personal fields opened."""
        self.row(ticket_id, actor)
        envelopes = self.db.load(stream_id(checked_id(ticket_id)))
        return [opened(self.cipher, envelope) for envelope in envelopes], envelopes

    def sla(self, row):
        """The SLA clocks of a read-model row, now (rows projected before the column: from
        events)."""
        stored = row["sla_history"]
        history = (
            SlaHistory.from_json(stored)
            if stored
            else sla_history(self.events(str(row["ticket_id"])))
        )
        return clocks(self.policy_for(matchable(row)), history, self.clock.now())

    def detail(self, ticket_id, actor):
        """(row, comments, SLA clocks) of a ticket the actor may see, with the comments they
        may read."""
        if ticket_id in self._opened:
            # opened by this unit: its row as just written, no comments yet, its clocks then
            row, sla = self._opened[ticket_id]
            seen = types.SimpleNamespace(
                requester_id=row["requester_id"], watchers=frozenset(row["watchers"])
            )
            if not can_view(seen, actor):
                raise exceptions.TicketNotFound("ticket not found")
            return row, [], sla
        row = self.row(ticket_id, actor)
        comments = store.comments_of(self.conn, row["ticket_id"], actor.is_privileged)
        return row, comments, self.sla(row)

    def detail_as_of(self, ticket_id, actor, as_of):
        """(row, comments, SLA clocks) of a ticket the actor may see, as it stood at `as_of`:
        its stream folded up to that instant (erased fields open as erased), its clocks then
        under the current policies; 404 before it was opened."""
        row = self.row(ticket_id, actor)
        events = self.events(str(row["ticket_id"]))
        past = list(itertools.takewhile(lambda event: event.occurred_at <= as_of, events))
        if not past:
            raise exceptions.TicketNotFound("ticket not found")
        state, history, at = replay(past), sla_history(past), min(as_of, self.clock.now())
        policy = self.policy_for(state)  # the policy that applied to it then, as it is now
        sla = clocks(policy, history, at)
        row = projections.ticket_row(state, projections.sla_instants(policy, history, at, sla))
        comments = [
            dataclasses.asdict(comment)
            for comment in state.comments
            if actor.is_privileged or not comment.internal
        ]
        return row, comments, sla

    def report(self, report, start, end, group_by):
        """The report over [start, end), from the report facts (see reports.py)."""
        facts = store.report_facts(self.conn, report, start, end)
        return reports.compute(report, facts, start, end, group_by, self.clock.now())

    def tickets(self, filters, limit, after, actor):
        """A page of the rows the actor may see (a requester: theirs and those they watch)."""
        visible_to = None if actor.is_privileged else actor.user_id
        return store.list_tickets(self.conn, filters, limit, after, visible_to=visible_to)

    def comment(self, ticket_id, comment_id):
        (row,) = store.comments_by_id(self.conn, ticket_id, [comment_id])
        return row

    def policy_document(self):
        """(document, version, whether it is the built-in one) of the tenant's default policy."""
        stored = store.load_policies(self.conn)
        if stored is None or stored[0] is None:
            return policy_document(default_policies().default), stored[2] if stored else 0, True
        return stored[0], stored[2], False

    def policies_documents(self):
        """(ordered documents, version) of the tenant's conditional SLA policies."""
        stored = store.load_policies(self.conn)
        return (stored[1], stored[2]) if stored else ([], 0)

    # writing

    def _with_comments(self, state, commands):
        """The state with the stored comments the commands name (a snapshot holds none)."""
        wanted = {str(c.comment_id) for c in commands if getattr(c, "comment_id", None)}
        missing = wanted - {c.comment_id for c in state.comments}
        found = [_comment(row) for row in store.comments_by_id(self.conn, state.ticket_id, missing)]
        return dataclasses.replace(state, comments=(*state.comments, *found)) if found else state

    def check(self, ticket_id, actor, command):
        """Decide `command` on the ticket as it is now and record nothing: its refusal (403,
        409, 422) before work that must precede the recording (a file's upload)."""
        state = self.load(checked_id(ticket_id)).state
        if state is None or not can_view(state, actor):
            raise exceptions.TicketNotFound("ticket not found")
        state = self._with_comments(state, [command])
        try:
            decide(state, command, self.clock.now(), projections.roles_of(self.conn, [command]))
        except TicketingError as exc:
            raise exceptions.from_domain(exc) from exc

    def run(self, ticket_id, actor, commands, expected_version=None, new=False):
        """Decide every command in turn, append their events at once and project the result.

        `commands` is a list, or a function of the current state returning one (for PATCH).
        `new`: the ticket id was minted for this unit, so its stream is not loaded (an append
        at version 0 to a stream that exists fails as any lost race does).
        """
        ticket_id = checked_id(ticket_id)
        aggregate = snapshots.Aggregate() if new else self.load(ticket_id)
        state = aggregate.state
        if state is not None and not can_view(state, actor):
            raise exceptions.TicketNotFound("ticket not found")
        base = aggregate.version
        if expected_version is not None and expected_version != base:
            raise exceptions.StaleVersion(
                f"the ticket is at version {base}, not {expected_version}"
            )
        stream, envelopes = stream_id(ticket_id), []
        if callable(commands):
            if state is None:
                raise exceptions.TicketNotFound("ticket not found")
            commands = commands(state)
        if state is not None:
            aggregate.state = state = self._with_comments(state, commands)
        known = projections.roles_of(self.conn, commands)
        groups = self.groups().groups_of(commands)
        definitions, fields_version = self._definitions_for(commands, actor)
        for command in commands:
            now = self.clock.now()
            try:
                events = decide(state, command, now, known, definitions, groups=groups)
            except TicketingError as exc:
                raise exceptions.from_domain(exc) from exc
            for new in events:
                # the instant the decision was made on is the one its events carry (SLA
                # clocks count from it), so a clock a test holds moves the whole ticket
                envelope = self.db.new_event(
                    new.type,
                    stream,
                    new.data,
                    actor=envelope_actor(actor),
                    pii=seal(self.cipher, self.tenant_id, new),
                    occurred_at=now,
                ).with_version(base + len(envelopes) + 1)
                aggregate.fold(envelope, decided(envelope, new))
                state = aggregate.state
                envelopes.append(envelope)
        if envelopes:
            # a lost race raises ConcurrencyError: the entrypoint decides it all again; the
            # events and the rows they project go in one round trip
            touched = {e.data["comment_id"] for e in envelopes if "comment_id" in e.data}
            self._policies.get(self.tenant_id) or self._read_policy()  # before the pipeline
            try:
                with self.db.appending(stream, base, envelopes):
                    queued = self._queue_projection(state, aggregate.sla, touched)
                    stored_fields = (
                        None
                        if fields_version is None
                        else store.stream_version(self.conn, FIELDS_STREAM)
                    )
            except psycopg.errors.UniqueViolation as exc:
                if exc.diag.constraint_name != EXTERNAL_ID_INDEX:
                    raise
                # a racing create took the external id first (the index decided)
                raise exceptions.ExternalIdTaken(state.external_id) from exc
            if stored_fields is not None and stored_fields.fetchone()[0] != fields_version:
                # decided on definitions another process has changed since: decide again
                FIELD_CACHE.drop(self.tenant_id)
                raise ConcurrencyError(FIELDS_STREAM, fields_version)
            row, sla = self._settle(*queued)
            if new:
                self._loaded[ticket_id] = aggregate
                self._opened[ticket_id] = (self._as_read(row), sla)
            else:
                self._opened.pop(ticket_id, None)
            if aggregate.due():
                eventstore.save_snapshot(
                    self.conn,
                    self.tenant_id,
                    stream,
                    aggregate.version,
                    snapshots.dump(self.cipher, self.tenant_id, aggregate),
                )
                aggregate.snapshot_version = aggregate.version
            trigger = routing_trigger(envelopes)
            if trigger and self.groups().route(ticket_id, trigger):
                state = self.load(ticket_id).state
        return state, envelopes

    def groups(self):
        """Groups, routing and queues of this tenant, in this unit of work."""
        if self._groups is None:
            self._groups = Groups(self)
        return self._groups

    def _definitions_for(self, commands, actor):
        """(definitions, their stream version) from the process's cache when a command needs
        them (an opening checks the required ones), else (None, None); an opening's external
        id must be free (409 naming it otherwise)."""
        opening = [c for c in commands if isinstance(c, OpenTicket)]
        for command in opening:
            if command.external_id is not None:
                taken = self.ticket_by_external_id(str(command.external_id).strip())
                if taken is not None:
                    shown = str(taken["ticket_id"]) if actor.is_privileged else None
                    raise exceptions.ExternalIdTaken(command.external_id.strip(), shown)
        if opening or any(isinstance(c, SetFields) for c in commands):
            cached = FIELD_CACHE.get(self.tenant_id)
            if cached is None:
                cached = (self.db.version(FIELDS_STREAM), self.field_definitions())
                FIELD_CACHE.put(self.tenant_id, *cached)
            return cached[1], cached[0]
        return None, None

    def ticket_by_external_id(self, external_id):
        """The read-model row of the tenant's ticket with this external id, or None (what an
        idempotent import asks before it opens one)."""
        return store.ticket_by_external_id(self.conn, external_id)

    def field_definitions(self):
        """{key: FieldDefinition} of the tenant's custom ticket fields."""
        return {
            row["key"]: FieldDefinition.from_data(row) for row in store.field_definitions(self.conn)
        }

    def define_field(self, actor, body):
        """Record a new custom field definition (admins); returns it."""
        try:
            definition = define_field(actor, self.field_definitions(), **body)
        except TicketingError as exc:
            raise exceptions.from_domain(exc) from exc
        self._record_definition(actor, "ticket_field_defined", definition.as_data())
        return definition

    def change_field(self, actor, key, body):
        try:
            definition = change_field(actor, self.field_definitions().get(key), key, **body)
        except TicketingError as exc:
            raise exceptions.from_domain(exc) from exc
        self._record_definition(actor, "ticket_field_defined", definition.as_data())
        return definition

    def remove_field(self, actor, key):
        """Remove a definition: new values are refused; recorded values stay in the events."""
        try:
            remove_field(actor, self.field_definitions().get(key), key)
        except TicketingError as exc:
            raise exceptions.from_domain(exc) from exc
        self._record_definition(actor, "ticket_field_removed", {"key": key})

    def _record_definition(self, actor, name, data):
        """Append to the definitions stream at the version read (a racing writer retries)
        and keep the read model."""
        version = self.db.version(FIELDS_STREAM)
        event = self.db.new_event(name, FIELDS_STREAM, data, actor=envelope_actor(actor))
        version = self.db.append(FIELDS_STREAM, version, [event])
        self._apply_definition(name, data, version)
        FIELD_CACHE.drop(self.tenant_id)

    def _apply_definition(self, name, data, version):
        if name.endswith("ticket_field_removed"):
            store.delete_field_definition(self.conn, data["key"])
        else:
            store.save_field_definition(self.conn, self.tenant_id, data, version)

    def run_apart(self, ticket_id, actor, commands, **options):
        """`run` (with its `options`) in a savepoint of the unit's transaction, with caches of
        its own: when it raises, nothing of it stays written and the unit goes on (a bulk
        request's item, an import's row). Returns the ticket's state."""
        for attempt in range(2):
            desk = TicketDesk(self.db, self.cipher, self.clock, self.tenant_id, self._policies)
            try:
                with self.conn.transaction():
                    return desk.run(ticket_id, actor, commands, **options)[0]
            except ConcurrencyError as exc:
                # decided on field definitions changed since they were cached: once more
                if exc.stream_id != FIELDS_STREAM or attempt:
                    raise

    def record_new(self, opened, also=None):
        """Append the events of tickets whose ids this unit minted, `opened` a list of
        (Aggregate, envelopes), in one statement, and project them all with it: one round trip
        and a statement a table for the lot (`also(conn)` sends further writes in the same
        round trip). A bulk import's unit of work. Returns each ticket's (row, SLA clocks).

        It writes for many tickets what `_queue_projection` writes for one (the ticket row,
        its comments, its report facts): a read model added there belongs here too."""
        version, policies = self._policies.get(self.tenant_id) or self._read_policy()
        projected = self._rows_of(opened, policies)
        with self.db.appending_streams([e for _, envelopes in opened for e in envelopes]):
            store.upsert_tickets(self.conn, self.tenant_id, [row for row, _, _ in projected])
            store.upsert_many_report_facts(self.conn, self.tenant_id, [f for *_, f in projected])
            store.upsert_comments_of(
                self.conn,
                self.tenant_id,
                [(a.state.ticket_id, c) for a, _ in opened for c in a.state.comments],
            )
            for aggregate, _ in opened:
                if aggregate.due():
                    eventstore.save_snapshot(
                        self.conn,
                        self.tenant_id,
                        stream_id(aggregate.state.ticket_id),
                        aggregate.version,
                        snapshots.dump(self.cipher, self.tenant_id, aggregate),
                    )
            if also is not None:
                also(self.conn)
            # after the rows, as upsert_ticket's RETURNING: a policy another process stored
            # since this one read it is seen here
            stored = store.policy_version(self.conn)
        if stored.fetchone()[0] != version:
            # the policies changed since this process read them: the rows follow those stored
            version, policies = self._read_policy()
            projected = self._rows_of(opened, policies)
            store.upsert_tickets(self.conn, self.tenant_id, [row for row, _, _ in projected])
            store.upsert_many_report_facts(self.conn, self.tenant_id, [f for *_, f in projected])
        self._policy = policies
        return [(row, sla) for row, sla, _ in projected]

    def _rows_of(self, opened, policies):
        """(ticket row, SLA clocks, report facts) of each new ticket, under the policy that
        applies to it."""
        now = self.clock.now()
        projected = []
        for aggregate, _ in opened:
            state, history = aggregate.state, aggregate.sla
            policy = policies.for_ticket(state)
            sla = clocks(policy, history, now)
            instants = projections.sla_instants(policy, history, now, sla)
            facts = reports.ticket_facts(state, policy, history, now, sla)
            projected.append((projections.ticket_row(state, instants), sla, facts))
        return projected

    def project(self, state, history, comment_ids=None):
        """Bring the ticket's rows up to its state; comments: those named, or all when None.

        Returns (the row written, the SLA clocks at the instant it was projected)."""
        return self._settle(*self._queue_projection(state, history, comment_ids))

    def _queue_projection(self, state, history, comment_ids):
        """Send the ticket's rows from the policy this process keeps; nothing is read back
        here, so that in a pipeline the statements go out together with the append."""
        now = self.clock.now()
        version, policies = self._policies.get(self.tenant_id) or self._read_policy()
        policy = policies.for_ticket(state)
        sla = clocks(policy, history, now)
        row, stored = projections.project_ticket(
            self.conn,
            self.tenant_id,
            state,
            projections.sla_instants(policy, history, now, sla),
            comment_ids,
        )
        projections.project_report_facts(
            self.conn, self.tenant_id, state, policy, history, now, sla
        )
        return state, history, now, version, policies, row, sla, stored

    def _settle(self, state, history, now, version, policies, row, sla, stored):
        if stored.fetchone()[0] != version:
            # the policies changed since this process read them: the row follows those stored
            version, policies = self._read_policy()
            policy = policies.for_ticket(state)
            sla = clocks(policy, history, now)
            row = projections.ticket_row(state, projections.sla_instants(policy, history, now, sla))
            store.upsert_ticket(self.conn, self.tenant_id, row)
            projections.project_report_facts(
                self.conn, self.tenant_id, state, policy, history, now, sla
            )
        self._policy = policies
        return row, sla

    def _as_read(self, row):
        """A written row as `store.get_ticket` reads it back: instants in the session's zone."""
        zone = self.conn.info.timezone
        return {
            key: value.astimezone(zone) if hasattr(value, "astimezone") else value
            for key, value in row.items()
        }

    def link(self, ticket_id, actor, command):
        """Link two tickets: this one's event and the mirrored one on the other, atomically."""
        other_id = checked_id(command.other_id)
        if store.get_ticket(self.conn, other_id) is None:
            raise exceptions.RuleViolated(
                "no such ticket to link", errors={"ticket_id": ["not found"]}
            )
        state, envelopes = self.run(ticket_id, actor, [command])
        for envelope in envelopes:
            mirror = mirror_command(state.ticket_id, envelope.name, envelope.data, actor)
            if mirror:
                self.run(mirror[0], actor, [mirror[1]])
        return state

    def resolve_children(self, parent_id):
        """The process manager of a closed parent: resolve each child still active (idempotent)."""
        parent = self.load(checked_id(parent_id)).state
        system = Actor.system()
        resolved = 0
        for child_id in children_to_resolve(parent) if parent else []:
            _, envelopes = self.run(
                child_id, system, [ResolveWithParent(actor=system, parent_id=parent_id)]
            )
            resolved += len(envelopes)
        return resolved

    def record_due_sla_alerts(self, ticket_id):
        """Record every SLA warning or breach due now, and the escalation actions of the policy
        that applies which they set off; refresh the timer's instants. Idempotent: an alert
        or an escalation already in the stream is not recorded again (a lost race with another
        timer run is decided again from the stream)."""
        aggregate = self.load(checked_id(ticket_id))
        if aggregate.state is None:
            return []
        now, system = self.clock.now(), Actor.system()
        policy = self.policy_for(aggregate.state)
        timers = [t for t in next_sla_timers(policy, aggregate.sla, now) if t.at <= now]
        due = [
            RecordSlaAlert(
                actor=system,
                kind=t.kind,
                target=t.target,
                at=t.at,
                due_at=t.due_at,
                target_minutes=t.target_minutes,
                round=t.round,
            )
            for t in timers
        ]
        due += [
            RecordSlaEscalation(actor=system, **step._asdict())
            for step in escalation_steps(policy, timers, aggregate.state.sla_escalations)
        ]
        if due:
            alerts = self.run(ticket_id, system, due)[1]
            for breach in (e for e in alerts if e.event_type == "ticketing.sla_breached"):
                metrics.SLA_BREACHES.labels("ticketing", breach.data["target"]).inc()
            return alerts
        store.set_sla_instants(
            self.conn,
            checked_id(ticket_id),
            projections.sla_instants(policy, aggregate.sla, now),
        )
        # a policy change asks for this recompute: the report facts follow it too
        projections.project_report_facts(
            self.conn, self.tenant_id, aggregate.state, policy, aggregate.sla, now
        )
        return []

    def set_policy(self, actor, document, expected_version=None):
        """Record the tenant's new default SLA policy; the timer recomputes every running
        clock."""
        return self._record_policies(actor, POLICY_SET, {"policy": document}, expected_version)

    def set_policies(self, actor, documents, expected_version=None):
        """Record the tenant's new ordered conditional SLA policies (the whole list)."""
        return self._record_policies(
            actor, POLICIES_SET, {"policies": list(documents)}, expected_version
        )

    def policy_by_id(self, policy_id):
        """(document, version) of one policy; `default`: the default policy's, with `default`
        saying whether it is the built-in one."""
        if policy_id == DEFAULT_POLICY_ID:
            document, version, builtin = self.policy_document()
            return {"id": DEFAULT_POLICY_ID, **document, "default": builtin}, version
        documents, version = self.policies_documents()
        document = next((d for d in documents if d["id"] == policy_id), None)
        if document is None:
            raise exceptions.PolicyNotFound("no such SLA policy")
        return document, version

    def put_policy_by_id(self, actor, policy_id, policy, position=None, expected_version=None):
        """Set one policy (an SlaPolicy loaded without its id): the default one, or a
        conditional one replaced in its place or at `position`, else added there (default:
        the end). Returns (document, version, whether it was added)."""
        if policy_id == DEFAULT_POLICY_ID:
            if policy.match != SlaMatch() or position is not None:
                raise exceptions.RuleViolated(
                    "the default policy applies to every ticket no other policy matches",
                    errors={"match": ["not for the default policy"]},
                )
            version = self.set_policy(actor, policy_document(policy), expected_version)
            return {"id": DEFAULT_POLICY_ID, **policy_document(policy)}, version, False
        if not POLICY_ID.fullmatch(policy_id):
            raise exceptions.RuleViolated(
                "not an SLA policy id", errors={"id": ["1-64 of a-z, 0-9, _ and -"]}
            )
        document = policy_document(dataclasses.replace(policy, policy_id=policy_id))
        documents, version = self.policies_documents()
        others = [d for d in documents if d["id"] != policy_id]
        added = len(others) == len(documents)
        if position is not None:
            at = min(position, len(others))
        elif added:
            at = len(others)
        else:
            at = next(i for i, d in enumerate(documents) if d["id"] == policy_id)
        ordered = [*others[:at], document, *others[at:]]
        if len(ordered) > POLICIES_MAX:
            raise exceptions.RuleViolated(
                f"at most {POLICIES_MAX} SLA policies", errors={"policies": ["too many"]}
            )
        version = self.set_policies(actor, ordered, _expected(expected_version, version))
        return document, version, added

    def delete_policy_by_id(self, actor, policy_id, expected_version=None):
        """Remove a conditional policy; `default` brings back the built-in default policy."""
        if policy_id == DEFAULT_POLICY_ID:
            return self.set_policy(actor, None, expected_version)
        documents, version = self.policies_documents()
        kept = [d for d in documents if d["id"] != policy_id]
        if len(kept) == len(documents):
            raise exceptions.PolicyNotFound("no such SLA policy")
        return self.set_policies(actor, kept, _expected(expected_version, version))

    def _record_policies(self, actor, event_type, data, expected_version):
        event = self.db.new_event(event_type, POLICY_STREAM, data, actor=envelope_actor(actor))
        if expected_version is None:
            version = self.db.append_next(POLICY_STREAM, [event])
        else:
            current = self.db.version(POLICY_STREAM)
            if expected_version != current:
                raise exceptions.StaleVersion(f"the policies are at version {current}")
            version = self.db.append(POLICY_STREAM, current, [event])
        if event_type == POLICY_SET:
            store.save_policy(self.conn, self.tenant_id, data["policy"], version)
        else:
            store.save_policies(self.conn, self.tenant_id, data["policies"], version)
        store.recompute_sla_soon(self.conn, self.clock.now())
        self._policy = self._read_policy()[1]
        return version

    # change approvals

    def approval_policies(self):
        """(policies per ticket type, version) of the tenant's approval policy ({}, 0: none)."""
        return store.load_approval_policies(self.conn)

    def approval_commands(self, actor, state, ticket_type):
        """The ApplyApprovalPolicy a ticket becoming of `ticket_type` takes: the tenant's stages
        for that type as stored now (none: no policy, or the ticket holds its stages already)."""
        if ticket_type is None or (
            state is not None and (state.approval_stages or state.type == ticket_type)
        ):
            return []
        policies, version = self.approval_policies()
        stages = (policies.get(ticket_type) or {}).get("stages")
        if not stages:
            return []
        return [
            ApplyApprovalPolicy(
                actor=actor,
                ticket_type=ticket_type,
                stages=clean_stages(stages),
                policy_version=version,
            )
        ]

    def set_approval_policies(self, actor, policies, expected_version=None):
        """Check and record the tenant's approval policy; the tickets holding stages keep theirs.

        `policies`: {ticket type: [stage, ...]} as the API loaded them."""
        document = {}
        for ticket_type, stages in sorted(policies.items()):
            try:
                cleaned = clean_stages(stages)
            except TicketingError as exc:
                raise exceptions.from_domain(exc) from exc
            self._check_approvers(cleaned)
            document[ticket_type] = {"stages": [stage_document(s) for s in cleaned]}
        event = self.db.new_event(
            "approval_policy_set",
            APPROVAL_POLICY_STREAM,
            {"policies": document},
            actor=envelope_actor(actor),
        )
        if expected_version is None:
            version = self.db.append_next(APPROVAL_POLICY_STREAM, [event])
        else:
            current = self.db.version(APPROVAL_POLICY_STREAM)
            if expected_version != current:
                raise exceptions.StaleVersion(f"the approval policy is at version {current}")
            version = self.db.append(APPROVAL_POLICY_STREAM, current, [event])
        store.save_approval_policies(self.conn, self.tenant_id, document, version)
        return document, version

    def _check_approvers(self, stages):
        """Named approvers are agents or admins of the tenant (people who see its changes); an
        approver group exists (422 otherwise)."""
        named = {user_id for stage in stages for user_id in stage.approver_ids}
        roles = store.member_roles(self.conn, named) if named else {}
        if any(not roles.get(user_id, frozenset()) & STAFF_ROLES for user_id in named):
            raise exceptions.RuleViolated(
                "approvers must be agents or admins of this tenant",
                errors={"approver_ids": ["must name agents or admins of this tenant"]},
            )
        for stage in stages:
            if stage.approver_group_id and self.approvers_of(stage.approver_group_id) is None:
                raise exceptions.RuleViolated(
                    "no such approver group",
                    errors={"approver_group_id": ["must name a group of this tenant"]},
                )

    def approvers_of(self, group_id):
        """The members of an approver group (ticketing's groups read model); None: no such
        group."""
        try:
            group_id = str(uuid.UUID(str(group_id)))
        except ValueError:
            return None
        return group_store.members_of(self.conn, {group_id}).get(group_id)

    def record_approval(self, ticket_id, actor, stage, decision, comment):
        """An approver's decision on a stage of the ticket's approval (ticket.approval_recorded)."""

        def commands(state):
            named = next((s for s in state.approval_stages if s.name == stage.lower()), None)
            group = named.approver_group_id if named else None
            return [
                RecordApproval(
                    actor=actor,
                    stage=stage,
                    decision=decision,
                    comment=comment,
                    group_members=self.approvers_of(group) if group else None,
                )
            ]

        return self.run(ticket_id, actor, commands)

    # maintenance

    def rebuild(self):
        """Empty the tenant's read models and replay every ticket stream into them."""
        store.clear_read_model(self.conn)
        tickets = comments = 0
        for stream in store.ticket_streams(self.conn):
            events = self.events(ticket_id_of(stream))
            state = replay(events)
            self.project(state, sla_history(events))
            store.insert_attachments(
                self.conn, self.tenant_id, projections.attachment_rows(state.ticket_id, events)
            )
            tickets, comments = tickets + 1, comments + len(state.comments)
        store.clear_field_definitions(self.conn)
        for envelope in self.db.load(FIELDS_STREAM):
            self._apply_definition(envelope.name, envelope.data, envelope.stream_version)
        policy_events = self.db.load(POLICY_STREAM)
        default = policies = None
        for event in policy_events:
            if event.name == POLICY_SET:
                default = event.data["policy"]
            elif event.name == POLICIES_SET:
                policies = event.data["policies"]
        if policy_events:
            version = policy_events[-1].stream_version
            store.save_policy(self.conn, self.tenant_id, default, version)
            store.save_policies(self.conn, self.tenant_id, policies or [], version)
        approval_events = self.db.load(APPROVAL_POLICY_STREAM)
        if approval_events:
            last = approval_events[-1]
            store.save_approval_policies(
                self.conn, self.tenant_id, last.data["policies"], last.stream_version
            )
        groups = self.groups().rebuild()
        return {"tickets": tickets, "comments": comments, "groups": groups}


def _expected(asked, read):
    """The version to append at: the one the caller asked for (If-Match), else the one read
    (a concurrent change then loses the race and the request is decided again)."""
    return read if asked is None else asked
