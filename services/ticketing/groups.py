"""The desk of groups: their streams, the members who leave them, routing and the queues.

A group is its own stream (`group-<id>`), folded by domain.groups and projected to the `groups`
table. The tenant's routing rules are one stream (`routing-rules`), as the SLA policy is. A
ticket that opens or changes category is routed by the first rule that matches (domain.routing):
the decision is recorded on the ticket's stream by the system, the round-robin cursor in the
same transaction. A member who leaves a group or the tenant, or is erased, has their open
assignments released, one system event per ticket.
"""

import uuid

from services.ticketing import exceptions, group_store, store
from services.ticketing.domain import (
    Actor,
    ApplyTriage,
    CreateGroup,
    ReleaseAssignment,
    RemoveGroupMember,
    RouteTicket,
    TicketingError,
    UpdateGroup,
    choose,
    decide_group,
    evolve_group,
    first_match,
    named_groups,
    replay_group,
)
from services.ticketing.domain.groups import (
    ERASED_MEMBER,
    LEFT_TENANT,
    REMOVED,
    AddGroupMember,
    GroupNotFound,
    group_stream,
)
from services.ticketing.domain.model import STAFF_ROLES
from services.ticketing.domain.routing import (
    AI_TRIAGE,
    CATEGORY_CHANGED,
    NO_MEMBER,
    OPENED,
    ROUND_ROBIN,
)
from services.ticketing.envelopes import decided, envelope_actor, opened
from services.ticketing.group_schemas import load_rules

RULES_STREAM = "routing-rules"
# a group member's reason to leave -> the reason their assignments are released
RELEASE_REASON = {REMOVED: "left_group", LEFT_TENANT: "left_tenant", ERASED_MEMBER: "erased"}


def routing_trigger(envelopes):
    """Why a ticket's new events call for routing: it opened, or its category changed (by a
    person or by AI triage); None when they also assign it (a person's choice stands)."""
    names = [envelope.event_type.removeprefix("ticketing.") for envelope in envelopes]
    if "ticket_assigned" in names:
        return None
    for name, envelope in zip(names, envelopes, strict=True):
        if name == "ticket_opened":
            return OPENED
        if name == "ticket_updated" and "category" in envelope.data:
            return AI_TRIAGE if envelope.data.get("source") == AI_TRIAGE else CATEGORY_CHANGED
    return None


class Groups:
    """Groups, routing and queues of the desk's tenant, in the desk's unit of work."""

    def __init__(self, desk):
        self.desk, self.db, self.conn = desk, desk.db, desk.conn
        self.tenant_id = desk.tenant_id
        self._rules = None

    # groups

    def load(self, group_id):
        """(group state or None, its stream version)."""
        envelopes = self.db.load(group_stream(group_id))
        events = [opened(self.desk.cipher, e) for e in envelopes]
        return replay_group(events), len(events) and events[-1].version

    def row(self, group_id):
        row = group_store.get_group(self.conn, _group_id(group_id))
        if row is None:
            raise exceptions.GroupNotFound("group not found")
        return row

    def list(self, limit, after, member=None):
        return group_store.list_groups(self.conn, limit, after, member)

    def run(self, group_id, actor, command, expected_version=None):
        """Decide one group command, append its events and project the group's row."""
        group_id = _group_id(group_id)
        state, base = self.load(group_id)
        if expected_version is not None and expected_version != base:
            raise exceptions.StaleVersion(f"the group is at version {base}, not {expected_version}")
        members = None
        if isinstance(command, AddGroupMember):
            members = store.member_roles(self.conn, {_user_id(command.user_id)})
        try:
            events = decide_group(state, command, members)
        except GroupNotFound as exc:
            raise exceptions.GroupNotFound("group not found") from exc
        except TicketingError as exc:
            raise exceptions.from_domain(exc) from exc
        name = events[0].data.get("name") if events else None
        if name is not None and group_store.name_taken(self.conn, name, group_id):
            raise exceptions.GroupConflict("a group of this name exists already")
        stream, envelopes = group_stream(group_id), []
        for index, new in enumerate(events, start=1):
            envelope = self.db.new_event(
                new.type, stream, new.data, actor=envelope_actor(actor)
            ).with_version(base + index)
            state = evolve_group(state, decided(envelope, new))
            envelopes.append(envelope)
        if envelopes:
            self.db.append(stream, base, envelopes)
            group_store.upsert_group(self.conn, self.tenant_id, state)
        return state, envelopes

    def create(self, actor, group_id, body):
        command = CreateGroup(actor=actor, group_id=group_id, **body)
        return self.run(group_id, actor, command)[0]

    def update(self, actor, group_id, body, expected_version):
        return self.run(group_id, actor, UpdateGroup(actor=actor, **body), expected_version)[0]

    def add_member(self, actor, group_id, user_id):
        return self.run(group_id, actor, AddGroupMember(actor=actor, user_id=user_id))[0]

    def remove_member(self, actor, group_id, user_id, reason=REMOVED):
        """The member leaves the group; their open assignments in it are released."""
        group_id, user_id = _group_id(group_id), _user_id(user_id, not_found=True)
        command = RemoveGroupMember(actor=actor, user_id=user_id, reason=reason)
        state, envelopes = self.run(group_id, actor, command)
        if envelopes:
            self.release(user_id, RELEASE_REASON[reason], group_id)
        return state

    def release(self, user_id, reason, group_id=None):
        """Unassign the user from their open tickets (in the group, if given): one system
        event per ticket. Returns how many were released."""
        system, released = Actor.system(), 0
        for ticket_id in group_store.open_assignments(self.conn, user_id, group_id):
            command = ReleaseAssignment(actor=system, user_id=user_id, reason=reason)
            released += len(self.desk.run(ticket_id, system, [command])[1])
        return released

    def member_left(self, user_id, reason):
        """A member left the tenant, lost every staff role, or was erased: out of every group,
        and every open assignment released. Idempotent; returns how many were released."""
        try:
            user_id = str(uuid.UUID(str(user_id)))
        except ValueError:
            return 0  # no agent's id: in no group, assigned nothing
        system = Actor.system()
        for group_id in group_store.groups_with_member(self.conn, user_id):
            self.run(
                group_id, system, RemoveGroupMember(actor=system, user_id=user_id, reason=reason)
            )
        return self.release(user_id, RELEASE_REASON[reason])

    def member_changed(self, user_id):
        """After identity's event about the user was projected: if they are no agent or admin
        any more, they leave (`left_tenant`; erased members have no roles left either)."""
        roles = store.member_roles(self.conn, {user_id}).get(user_id, frozenset())
        if not roles & STAFF_ROLES:
            return self.member_left(user_id, LEFT_TENANT)
        return 0

    def groups_of(self, commands):
        """{group id: member ids} of the groups the ticket commands name (those that exist)."""
        named = set().union(*(named_groups(command) for command in commands))
        return group_store.members_of(self.conn, named)

    # routing

    def rules(self):
        """(rules, version) of the tenant's routing rules: [] and 0 when never set."""
        if self._rules is None:
            stored = group_store.load_rules(self.conn)
            self._rules = (load_rules(stored[0]), stored[1]) if stored else ([], 0)
        return self._rules

    def apply_triage(self, suggestion):
        """An `ai.triage_suggested` event's category, applied when the tenant opted in and the
        confidence reaches theirs (the ticket is then routed by the rules); False otherwise."""
        stored = group_store.load_rules(self.conn)
        setting = (stored[0] if stored else {}).get("ai_triage") or {}
        if not setting.get("enabled") or not suggestion.get("category"):
            return False
        ticket_id = str(suggestion["ticket_id"])
        if self.desk.load(ticket_id).state is None:
            return False
        system = Actor.system()
        command = ApplyTriage(
            actor=system,
            category=suggestion["category"],
            confidence=suggestion.get("confidence") or 0.0,
            min_confidence=setting["min_confidence"],
        )
        try:
            return bool(self.desk.run(ticket_id, system, [command])[1])
        except exceptions.RuleViolated:
            return False  # a suggestion this desk cannot take (not a category slug): ignored

    def rules_document(self):
        stored = group_store.load_rules(self.conn)
        return stored if stored else ({"rules": []}, 0)

    def set_rules(self, actor, document, expected_version=None):
        """Record the tenant's routing rules (each rule's group must exist)."""
        rules = load_rules(document)
        missing = {rule.group_id for rule in rules} - set(
            group_store.members_of(self.conn, {rule.group_id for rule in rules})
        )
        if missing:
            raise exceptions.RuleViolated(
                "a routing rule names no group of this tenant",
                errors={"rules": ["each then.group_id must name a group of this tenant"]},
            )
        event = self.db.new_event(
            "routing_rules_set", RULES_STREAM, document, actor=envelope_actor(actor)
        )
        current = self.db.version(RULES_STREAM)
        if expected_version is not None and expected_version != current:
            raise exceptions.StaleVersion(f"the routing rules are at version {current}")
        version = self.db.append(RULES_STREAM, current, [event])
        group_store.save_rules(self.conn, self.tenant_id, document, version)
        self._rules = (rules, version)
        return version

    def route(self, ticket_id, trigger):
        """Apply the first matching rule to the ticket, recording why; None when none matches
        (or the ticket is in that group already)."""
        rules, _ = self.rules()
        if not rules:
            return None
        state = self.desk.load(ticket_id).state
        found = first_match(rules, state) if state is not None else None
        if found is None or found[1].group_id == state.group_id:
            return None
        index, rule = found
        members = group_store.members_of(self.conn, {rule.group_id}).get(rule.group_id)
        if members is None:
            return None  # the group is gone from the read model: nothing to route to
        staff = store.member_roles(self.conn, members)
        eligible = sorted(m for m in members if staff.get(m, frozenset()) & STAFF_ROLES)
        last = None
        if rule.strategy == ROUND_ROBIN:
            last = group_store.lock_cursor(self.conn, self.tenant_id, rule.group_id)
        loads = group_store.loads(self.conn, eligible) if eligible else {}
        assignee = choose(rule.strategy, eligible, loads, last)
        system = Actor.system()
        command = RouteTicket(
            actor=system,
            rule=index,
            group_id=rule.group_id,
            assignee_id=assignee,
            strategy=rule.strategy,
            trigger=trigger,
            **({} if assignee else {"reason": NO_MEMBER}),
        )
        _, envelopes = self.desk.run(ticket_id, system, [command])
        if envelopes and assignee and rule.strategy == ROUND_ROBIN:
            group_store.set_cursor(self.conn, rule.group_id, assignee)
        return command

    # queues

    def queue(self, group_id, filters, limit, after):
        self.row(group_id)
        return group_store.queue(self.conn, filters, limit, after, group_id=_group_id(group_id))

    def my_queue(self, user_id, filters, limit, after):
        return group_store.queue(self.conn, filters, limit, after, assignee_id=user_id)

    # maintenance

    def rebuild(self):
        group_store.clear_groups(self.conn)
        count = 0
        for stream in group_store.group_streams(self.conn):
            state, _ = self.load(stream.removeprefix("group-"))
            if state is not None:
                group_store.upsert_group(self.conn, self.tenant_id, state)
                count += 1
        rules = self.db.load(RULES_STREAM)
        if rules:
            last = rules[-1]
            group_store.save_rules(self.conn, self.tenant_id, last.data, last.stream_version)
        return count


def _group_id(value):
    """The canonical group id; anything that is not a UUID names no group (404)."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError as exc:
        raise exceptions.GroupNotFound("group not found") from exc


def _user_id(value, not_found=False):
    try:
        return str(uuid.UUID(str(value)))
    except ValueError as exc:
        if not_found:
            raise exceptions.GroupNotFound("no such member of the group") from exc
        raise exceptions.RuleViolated(
            "user_id: must be a UUID", errors={"user_id": ["must be a UUID"]}
        ) from exc
