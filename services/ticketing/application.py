"""The ticket desk: load a ticket from its snapshot, decide, seal, append and project."""

import collections
import dataclasses
import itertools
import types
import uuid

from services.ticketing import exceptions, projections, reports, snapshots, store
from services.ticketing.domain import (
    Actor,
    Comment,
    RecordSlaAlert,
    ResolveWithParent,
    TicketingError,
    can_view,
    children_to_resolve,
    decide,
    mirror_command,
    replay,
)
from services.ticketing.envelopes import (
    decided,
    envelope_actor,
    opened,
    seal,
    stream_id,
    ticket_id_of,
)
from services.ticketing.schemas import load_policy_document, policy_document
from services.ticketing.sla import (
    SlaHistory,
    default_policy,
    next_sla_timers,
    sla_history,
    sla_status,
)
from shared import eventstore, metrics

POLICY_STREAM = "sla-policy"


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


class PolicyCache:
    """Each tenant's SLA policy as this process last read it, with its stored version (0: the
    default). Never trusted on its own: the statement that writes a ticket's row also reads the
    stored version, and a row projected from an older policy is projected again at once (see
    TicketDesk.project), so a change made through any process counts from the next write."""

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

    # reading

    def policy(self):
        if self._policy is None:
            self._policy = self._read_policy()[1]
        return self._policy

    def _read_policy(self):
        """(version, policy) as stored now, remembered for the process's next writes."""
        stored = store.load_policy(self.conn)
        version, policy = (stored[1], load_policy_document(stored[0])) if stored else (0, None)
        self._policies.put(self.tenant_id, version, policy or default_policy())
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
        return sla_status(self.policy(), history, self.clock.now())

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
        under the current policy; 404 before it was opened."""
        row = self.row(ticket_id, actor)
        events = self.events(str(row["ticket_id"]))
        past = list(itertools.takewhile(lambda event: event.occurred_at <= as_of, events))
        if not past:
            raise exceptions.TicketNotFound("ticket not found")
        state, history, at = replay(past), sla_history(past), min(as_of, self.clock.now())
        sla = sla_status(self.policy(), history, at)
        row = projections.ticket_row(
            state, projections.sla_instants(self.policy(), history, at, sla)
        )
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
        """(document, version, whether it is the default) of the tenant's SLA policy."""
        stored = store.load_policy(self.conn)
        if stored is None:
            return policy_document(default_policy()), 0, True
        return *stored, False

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
        for command in commands:
            now = self.clock.now()
            try:
                events = decide(state, command, now, known)
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
            with self.db.appending(stream, base, envelopes):
                queued = self._queue_projection(state, aggregate.sla, touched)
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
        return state, envelopes

    def project(self, state, history, comment_ids=None):
        """Bring the ticket's rows up to its state; comments: those named, or all when None.

        Returns (the row written, the SLA clocks at the instant it was projected)."""
        return self._settle(*self._queue_projection(state, history, comment_ids))

    def _queue_projection(self, state, history, comment_ids):
        """Send the ticket's rows from the policy this process keeps; nothing is read back
        here, so that in a pipeline the statements go out together with the append."""
        now = self.clock.now()
        version, policy = self._policies.get(self.tenant_id) or self._read_policy()
        sla = sla_status(policy, history, now)
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
        return state, history, now, version, policy, row, sla, stored

    def _settle(self, state, history, now, version, policy, row, sla, stored):
        if stored.fetchone()[0] != version:
            # the policy changed since this process read it: the row follows the stored one
            version, policy = self._read_policy()
            sla = sla_status(policy, history, now)
            row = projections.ticket_row(state, projections.sla_instants(policy, history, now, sla))
            store.upsert_ticket(self.conn, self.tenant_id, row)
            projections.project_report_facts(
                self.conn, self.tenant_id, state, policy, history, now, sla
            )
        self._policy = policy
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
        """Record every SLA warning or breach due now; refresh the timer's instants. Idempotent."""
        aggregate = self.load(checked_id(ticket_id))
        if aggregate.state is None:
            return []
        now, system = self.clock.now(), Actor.system()
        due = [
            RecordSlaAlert(
                actor=system,
                kind=t.kind,
                target=t.target,
                at=t.at,
                due_at=t.due_at,
                target_minutes=t.target_minutes,
            )
            for t in next_sla_timers(self.policy(), aggregate.sla, now)
            if t.at <= now
        ]
        if due:
            alerts = self.run(ticket_id, system, due)[1]
            for breach in (e for e in alerts if e.event_type == "ticketing.sla_breached"):
                metrics.SLA_BREACHES.labels("ticketing", breach.data["target"]).inc()
            return alerts
        store.set_sla_instants(
            self.conn,
            checked_id(ticket_id),
            projections.sla_instants(self.policy(), aggregate.sla, now),
        )
        # a policy change asks for this recompute: the report facts follow it too
        projections.project_report_facts(
            self.conn, self.tenant_id, aggregate.state, self.policy(), aggregate.sla, now
        )
        return []

    def set_policy(self, actor, document, expected_version=None):
        """Record the tenant's new SLA policy and have the timer recompute every running clock."""
        event = self.db.new_event(
            "sla_policy_set", POLICY_STREAM, {"policy": document}, actor=envelope_actor(actor)
        )
        if expected_version is None:
            version = self.db.append_next(POLICY_STREAM, [event])
        else:
            current = self.db.version(POLICY_STREAM)
            if expected_version != current:
                raise exceptions.StaleVersion(f"the policy is at version {current}")
            version = self.db.append(POLICY_STREAM, current, [event])
        store.save_policy(self.conn, self.tenant_id, document, version)
        store.recompute_sla_soon(self.conn, self.clock.now())
        self._policies.put(self.tenant_id, version, load_policy_document(document))
        return version

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
        policy_events = self.db.load(POLICY_STREAM)
        if policy_events:
            last = policy_events[-1]
            store.save_policy(self.conn, self.tenant_id, last.data["policy"], last.stream_version)
        return {"tickets": tickets, "comments": comments}
