"""The ticket desk: load a stream, decide, seal, append and project, in the worker's transaction."""
import uuid

from services.ticketing import codec, exceptions, store
from services.ticketing.domain import (
    Actor, RecordSlaAlert, ResolveWithParent, TicketingError, can_view, children_to_resolve,
    decide, evolve, mirror_command, replay)
from services.ticketing.schemas import load_policy_document
from services.ticketing.sla import default_policy, next_sla_timers, sla_status
from shared.eventstore import ConcurrencyError

POLICY_STREAM = "sla-policy"


def sla_instants(policy, events, now):
    """The read model's SLA columns: each target's deadline and the next alert to record."""
    status = sla_status(policy, events, now)
    timers = next_sla_timers(policy, events, now)
    return {"sla_first_response_due": status["first_response"]["due_at"],
            "sla_resolution_due": status["resolution"]["due_at"],
            "sla_next_at": timers[0].at if timers else None}


def checked_id(ticket_id):
    """The canonical ticket id; anything that is not a UUID names no ticket."""
    try:
        return str(uuid.UUID(str(ticket_id)))
    except ValueError as exc:
        raise exceptions.TicketNotFound("ticket not found") from exc


class TicketDesk:
    def __init__(self, db, cipher, clock, tenant_id):
        self.db, self.cipher, self.clock = db, cipher, clock
        self.tenant_id = str(tenant_id)
        self.conn = db.begin(self.tenant_id)
        self._policy = None
        # streams this worker already folded: the response after a write needs no reload
        self._streams = {}

    # reading

    def policy(self):
        if self._policy is None:
            stored = store.load_policy(self.conn)
            self._policy = load_policy_document(stored[0]) if stored else default_policy()
        return self._policy

    def events(self, ticket_id, decrypt=True):
        if ticket_id in self._streams:
            return list(self._streams[ticket_id])
        envelopes = self.db.load(codec.stream_id(ticket_id))
        if decrypt:
            return [codec.opened(self.cipher, envelope) for envelope in envelopes]
        return [codec.recorded(envelope, {}) for envelope in envelopes]

    def visible(self, ticket_id, actor, decrypt=True):
        """(state, events) of a ticket the actor may see; 404 otherwise, whatever the reason."""
        ticket_id = checked_id(ticket_id)
        events = self.events(ticket_id, decrypt)
        state = replay(events)
        if state is None or not can_view(state, actor):
            raise exceptions.TicketNotFound("ticket not found")
        return state, events

    def timeline(self, ticket_id, actor):
        """(events, envelopes) of a ticket the actor may see, personal fields opened."""
        envelopes = self.db.load(codec.stream_id(checked_id(ticket_id)))
        events = [codec.opened(self.cipher, envelope) for envelope in envelopes]
        state = replay(events)
        if state is None or not can_view(state, actor):
            raise exceptions.TicketNotFound("ticket not found")
        return events, envelopes

    def sla(self, events):
        return sla_status(self.policy(), events, self.clock.now())

    # writing

    def run(self, ticket_id, actor, commands, expected_version=None):
        """Decide every command in turn, append their events at once and project the result.

        `commands` is a list, or a function of the current state returning one (for PATCH).
        """
        ticket_id = checked_id(ticket_id)
        events = self.events(ticket_id)
        state = replay(events)
        if state is not None and not can_view(state, actor):
            raise exceptions.TicketNotFound("ticket not found")
        base = state.version if state else 0
        if expected_version is not None and expected_version != base:
            raise exceptions.StaleVersion(f"the ticket is at version {base}, not {expected_version}")
        stream, envelopes = codec.stream_id(ticket_id), []
        if callable(commands):
            if state is None:
                raise exceptions.TicketNotFound("ticket not found")
            commands = commands(state)
        for command in commands:
            now = self.clock.now()
            try:
                decided = decide(state, command, now)
            except TicketingError as exc:
                raise exceptions.from_domain(exc) from exc
            for new in decided:
                # the instant the decision was made on is the one its events carry (SLA
                # clocks count from it), so a clock a test holds moves the whole ticket
                envelope = self.db.new_event(
                    new.type, stream, new.data, actor=codec.envelope_actor(actor),
                    pii=codec.seal(self.cipher, self.tenant_id, new), occurred_at=now
                ).with_version(base + len(envelopes) + 1)
                recorded = codec.opened(self.cipher, envelope)
                state = evolve(state, recorded)
                events.append(recorded)
                envelopes.append(envelope)
        if envelopes:
            self._append(stream, base, envelopes, expected_version is not None)
            self._streams[ticket_id] = list(events)
            touched = {e.data["comment_id"] for e in envelopes if "comment_id" in e.data}
            self.project(state, events, touched)
        return state, envelopes

    def _append(self, stream, base, envelopes, had_if_match):
        try:
            self.db.append(stream, base, envelopes)
        except ConcurrencyError as exc:
            error = exceptions.StaleVersion if had_if_match else exceptions.TicketConflict
            raise error("the ticket changed meanwhile; read it again and retry") from exc

    def project(self, state, events, comment_ids=None):
        """Bring the ticket's rows up to its state; comments: those named, or all when None."""
        store.upsert_ticket(self.conn, self.tenant_id, state,
                            sla_instants(self.policy(), events, self.clock.now()))
        comments = [c for c in state.comments if comment_ids is None or c.comment_id in comment_ids]
        if comments:
            store.upsert_comments(self.conn, self.tenant_id, state.ticket_id, comments)

    def link(self, ticket_id, actor, command):
        """Link two tickets: this one's event and the mirrored one on the other, atomically."""
        other_id = checked_id(command.other_id)
        if store.get_ticket(self.conn, other_id) is None:
            raise exceptions.RuleViolated("no such ticket to link", errors={"ticket_id": ["not found"]})
        state, envelopes = self.run(ticket_id, actor, [command])
        for envelope in envelopes:
            mirror = mirror_command(state.ticket_id, envelope.name, envelope.data, actor)
            if mirror:
                self.run(mirror[0], actor, [mirror[1]])
        return state

    def resolve_children(self, parent_id):
        """The process manager of a closed parent: resolve each child still active (idempotent)."""
        parent = replay(self.events(parent_id, decrypt=False))
        system = Actor.system()
        resolved = 0
        for child_id in children_to_resolve(parent) if parent else []:
            _, envelopes = self.run(child_id, system, [ResolveWithParent(actor=system,
                                                                         parent_id=parent_id)])
            resolved += len(envelopes)
        return resolved

    def record_due_sla_alerts(self, ticket_id):
        """Record every SLA warning or breach due now; refresh the timer's instants. Idempotent."""
        events = self.events(ticket_id)
        if not events:
            return []
        now, system = self.clock.now(), Actor.system()
        due = [RecordSlaAlert(actor=system, kind=t.kind, target=t.target, at=t.at, due_at=t.due_at,
                              target_minutes=t.target_minutes)
               for t in next_sla_timers(self.policy(), events, now) if t.at <= now]
        if due:
            return self.run(ticket_id, system, due)[1]
        store.set_sla_instants(self.conn, checked_id(ticket_id),
                               sla_instants(self.policy(), events, now))
        return []

    # privacy and maintenance

    def rebuild(self):
        """Empty the tenant's read models and replay every ticket stream into them."""
        store.clear_read_model(self.conn)
        tickets = comments = 0
        for stream in store.ticket_streams(self.conn):
            events = self.events(codec.ticket_id_of(stream))
            state = replay(events)
            self.project(state, events)
            tickets, comments = tickets + 1, comments + len(state.comments)
        policy_events = self.db.load(POLICY_STREAM)
        if policy_events:
            last = policy_events[-1]
            store.save_policy(self.conn, self.tenant_id, last.data["policy"], last.stream_version)
        return {"tickets": tickets, "comments": comments}

    def purge(self, subject_id):
        """Re-project the subject's tickets from events, then overwrite what is still readable."""
        touched = store.tickets_touching(self.conn, str(subject_id))
        for ticket_id in touched:
            events = self.events(ticket_id)
            self.project(replay(events), events)
        return {"tickets_reprojected": len(touched), **store.erase_subject_text(self.conn, str(subject_id))}
