"""Custom ticket fields in the pure domain: definitions, and the rules values keep (given the
tenant's definitions, when a ticket is opened or its fields set, then these events or this
refusal); sealed values erased with the requester's key; external ids."""

from datetime import UTC, datetime

import pytest

from services.ticketing.domain import (
    ERASED,
    FieldAlreadyDefined,
    FieldDefinition,
    FieldNotDefined,
    NotPermitted,
    OpenTicket,
    RecordedEvent,
    SetFields,
    TicketClosed,
    ValidationFailed,
    change_field,
    decide,
    define_field,
    evolve,
    remove_field,
    replay,
)

NOW = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def definitions(admin):
    """A tenant's fields: one of each type; `asset` required for incidents."""
    found = {}
    for spec in (
        {"key": "asset", "type": "number", "required_for": ["incident"]},
        {"key": "due", "type": "date"},
        {"key": "risk", "type": "enum", "options": ["low", "high"]},
        {"key": "owner", "type": "user"},
        {"key": "vip", "type": "bool"},
        {"key": "notes", "type": "text"},
        {"key": "badge", "type": "enum", "options": ["a1", "b2"], "personal": True},
    ):
        found[spec["key"]] = define_field(admin, found, **spec)
    return found


def record(events, actor_id, after=0):
    """The events as the store hands them back (pii opened), versions after `after`."""
    return [
        RecordedEvent(
            type=e.type,
            data=e.data,
            pii={name: entry["value"] for name, entry in e.pii.items()},
            version=after + i,
            occurred_at=NOW,
            actor_id=actor_id,
        )
        for i, e in enumerate(events, 1)
    ]


def opening(who, new_id, definitions, members=None, **extra):
    command = OpenTicket(actor=who, ticket_id=new_id(), type="incident", title="Printer", **extra)
    return decide(None, command, NOW, members or {}, definitions)


def opened(who, new_id, definitions, **fields):
    events = opening(who, new_id, definitions, fields={"asset": 7, **fields})
    return replay(record(events, who.user_id))


# definitions


def test_only_admins_define_fields(agent):
    with pytest.raises(NotPermitted):
        define_field(agent, {}, key="asset", type="number")


def test_a_key_is_defined_once(admin, definitions):
    with pytest.raises(FieldAlreadyDefined):
        define_field(admin, definitions, key="asset", type="text")


@pytest.mark.parametrize(
    "spec, field",
    [
        ({"key": "Asset Tag", "type": "text"}, "key"),
        ({"key": "asset", "type": "money"}, "type"),
        ({"key": "risk", "type": "enum"}, "options"),
        ({"key": "risk", "type": "enum", "options": ["low", "low"]}, "options"),
        ({"key": "risk", "type": "enum", "options": ["very low"]}, "options"),
        ({"key": "asset", "type": "number", "options": ["x"]}, "options"),
        ({"key": "asset", "type": "number", "required_for": ["outage"]}, "required_for"),
        ({"key": "notes", "type": "text", "personal": False}, "personal"),
    ],
)
def test_a_malformed_definition_is_refused_naming_its_field(admin, spec, field):
    with pytest.raises(ValidationFailed) as refused:
        define_field(admin, {}, **spec)
    assert refused.value.field == field


def test_text_fields_and_personal_fields_are_sealed_others_plain(definitions):
    sealed = {key for key, d in definitions.items() if d.sealed}
    assert sealed == {"notes", "badge"}
    assert definitions["notes"].personal is True


def test_a_change_keeps_key_type_and_personal(admin, definitions):
    changed = change_field(admin, definitions["risk"], "risk", options=["low", "mid", "high"])
    assert changed == FieldDefinition("risk", "enum", ("low", "mid", "high"))
    with pytest.raises(FieldNotDefined):
        change_field(admin, None, "nope", options=["a"])
    with pytest.raises(FieldNotDefined):
        remove_field(admin, None, "nope")
    with pytest.raises(NotPermitted):
        remove_field(admin.__class__("x", frozenset({"agent"})), definitions["risk"], "risk")


# values on opening


def test_values_are_carried_in_a_fields_changed_event_after_the_opening(agent, new_id, definitions):
    owner = new_id()
    events = opening(
        agent,
        new_id,
        definitions,
        {owner: frozenset({"agent"})},
        fields={"asset": 7, "due": "2024-03-08", "risk": "high", "owner": owner, "vip": True},
    )
    assert [e.type for e in events] == ["ticket_opened", "fields_changed"]
    assert events[1].data == {
        "set": {
            "asset": {"number": 7},
            "due": {"date": "2024-03-08"},
            "owner": {"user": owner},
            "risk": {"enum": "high"},
            "vip": {"bool": True},
        },
        "sealed": [],
        "cleared": [],
    }
    assert events[1].pii == {}


def test_text_and_personal_values_are_sealed_under_the_requesters_key(
    agent, requester, new_id, definitions
):
    events = opening(
        agent,
        new_id,
        definitions,
        {requester.user_id: frozenset({"requester"})},
        requester_id=requester.user_id,
        fields={"asset": 7, "notes": "Jane's desk, room 12", "badge": "a1"},
    )
    changed = events[1]
    assert changed.data["set"] == {"asset": {"number": 7}}
    assert changed.data["sealed"] == ["badge", "notes"]
    assert "Jane" not in str(changed.data)
    assert changed.pii["fields"]["subject_id"] == requester.user_id
    assert "Jane's desk" in changed.pii["fields"]["value"]


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"asset": 7, "colour": "red"}, "fields.colour"),
        ({"asset": "seven"}, "fields.asset"),
        ({"asset": True}, "fields.asset"),
        ({"asset": 2**60}, "fields.asset"),
        ({"asset": float("nan")}, "fields.asset"),
        ({"asset": 7, "Jane Roe": 1}, "fields"),
        ({"asset": 7, "due": "next friday"}, "fields.due"),
        ({"asset": 7, "risk": "medium"}, "fields.risk"),
        ({"asset": 7, "vip": "yes"}, "fields.vip"),
        ({"asset": 7, "notes": 12}, "fields.notes"),
        ({"asset": 7, "notes": "   "}, "fields.notes"),
        ({"asset": 7, "owner": "jane.roe@example.test"}, "fields.owner"),
        ({}, "fields.asset"),
        ({"asset": None}, "fields.asset"),
    ],
)
def test_a_wrong_value_is_refused_naming_its_field(agent, new_id, definitions, fields, field):
    with pytest.raises(ValidationFailed) as refused:
        opening(agent, new_id, definitions, fields=fields)
    assert refused.value.field == field


def test_a_user_field_names_a_member_of_the_tenant(agent, new_id, definitions):
    outsider = new_id()
    with pytest.raises(ValidationFailed) as refused:
        opening(agent, new_id, definitions, {}, fields={"asset": 7, "owner": outsider})
    assert refused.value.message == "must name a member of this tenant"
    opening(agent, new_id, definitions, {}, fields={"asset": 7, "owner": agent.user_id})


def test_a_field_is_required_only_for_the_types_that_name_it(agent, new_id, definitions):
    command = OpenTicket(
        actor=agent, ticket_id=new_id(), type="service_request", title="New monitor"
    )
    assert [e.type for e in decide(None, command, NOW, {}, definitions)] == ["ticket_opened"]


def test_without_definitions_any_value_is_an_unknown_field(agent, new_id):
    with pytest.raises(ValidationFailed) as refused:
        opening(agent, new_id, None, fields={"asset": 7})
    assert refused.value.field == "fields.asset"


# values set later


def test_setting_fields_changes_only_what_differs_and_clears_with_none(agent, new_id, definitions):
    state = opened(agent, new_id, definitions, risk="low", vip=False)
    same = SetFields(actor=agent, fields={"asset": 7, "risk": "low"})
    assert decide(state, same, NOW, {}, definitions) == []
    events = decide(
        state, SetFields(actor=agent, fields={"risk": "high", "vip": None}), NOW, {}, definitions
    )
    state = evolve(state, record(events, agent.user_id, state.version)[0])
    assert state.fields == {"asset": 7, "risk": "high"}


def test_a_required_field_cannot_be_cleared(agent, new_id, definitions):
    state = opened(agent, new_id, definitions)
    with pytest.raises(ValidationFailed) as refused:
        decide(state, SetFields(actor=agent, fields={"asset": None}), NOW, {}, definitions)
    assert refused.value.field == "fields.asset"


def test_only_participants_set_fields_and_not_on_a_closed_ticket(
    agent, requester, stranger, new_id, definitions
):
    events = opening(
        agent,
        new_id,
        definitions,
        {requester.user_id: frozenset({"requester"})},
        requester_id=requester.user_id,
        fields={"asset": 7},
    )
    state = replay(record(events, agent.user_id))
    assert decide(state, SetFields(actor=requester, fields={"vip": True}), NOW, {}, definitions)
    with pytest.raises(NotPermitted):
        decide(state, SetFields(actor=stranger, fields={"vip": True}), NOW, {}, definitions)
    cancelled = evolve(
        state,
        RecordedEvent(
            "status_changed",
            {"from_status": "new", "to_status": "cancelled", "reason": None},
            {},
            state.version + 1,
            NOW,
            agent.user_id,
        ),
    )
    with pytest.raises(TicketClosed):
        decide(cancelled, SetFields(actor=agent, fields={"vip": True}), NOW, {}, definitions)


def test_sealed_values_fold_in_clear_and_are_erased_with_the_key(agent, new_id, definitions):
    events = record(
        opening(agent, new_id, definitions, fields={"asset": 7, "notes": "room 12", "badge": "a1"}),
        agent.user_id,
    )
    state = replay(events)
    assert state.fields == {"asset": 7, "notes": "room 12", "badge": "a1"}
    assert state.sealed_fields == {"notes", "badge"}
    shredded = [events[0], RecordedEvent(**{**vars(events[1]), "pii": {"fields": ERASED}})]
    assert replay(shredded).fields == {"asset": 7, "notes": ERASED, "badge": ERASED}


# external ids


def test_an_external_id_travels_on_the_opening(agent, new_id):
    events = opening(agent, new_id, {}, external_id="ALERT-4711")
    assert events[0].data["external_id"] == "ALERT-4711"
    assert replay(record(events, agent.user_id)).external_id == "ALERT-4711"


@pytest.mark.parametrize("external_id", ["", "has space", "jane@example.test", "x" * 201, 12])
def test_an_external_id_is_an_opaque_key(agent, new_id, external_id):
    with pytest.raises(ValidationFailed) as refused:
        opening(agent, new_id, {}, external_id=external_id)
    assert refused.value.field == "external_id"


def test_a_change_of_type_needs_the_fields_the_new_type_requires(admin, agent, new_id):
    definitions = {
        "risk": define_field(
            admin, {}, key="risk", type="enum", options=["low"], required_for=["change"]
        )
    }
    state = replay(record(opening(agent, new_id, {}), agent.user_id))
    retyped = evolve(
        state,
        RecordedEvent(
            "ticket_updated",
            {"fields": ["type"], "type": "change"},
            {},
            state.version + 1,
            NOW,
            agent.user_id,
        ),
    )
    lacking = SetFields(actor=agent, fields={}, complete=True)
    with pytest.raises(ValidationFailed) as refused:
        decide(retyped, lacking, NOW, {}, definitions)
    assert refused.value.field == "fields.risk"
    given = SetFields(actor=agent, fields={"risk": "low"}, complete=True)
    assert [e.type for e in decide(retyped, given, NOW, {}, definitions)] == ["fields_changed"]
