"""Every event type of every service declares a class for each data field; personal text only
sealed."""

import importlib
import pathlib
import uuid

import pytest
from marshmallow import fields

from services.ticketing.domain import EVENT_TYPES
from shared import classified
from shared.classified import EventData, Id, UnclassifiedEvent, register
from shared.envelope import Envelope

SERVICES = sorted(
    p.name
    for p in (pathlib.Path(__file__).parents[3] / "services").iterdir()
    if (p / "service.py").exists()
)
for _service in SERVICES:
    importlib.import_module(f"services.{_service}.events")
TYPES = classified.registered()


def sealed_entry():
    return {"s": str(uuid.uuid4()), "n": "bm9uY2U=", "c": "Y2lwaGVydGV4dA=="}


def test_every_service_declares_its_event_types():
    assert SERVICES == [
        "ai",
        "audit",
        "identity",
        "integrations",
        "notifications",
        "privacy",
        "ticketing",
    ]
    assert {name.split(".")[0] for name in TYPES} == set(SERVICES)


@pytest.mark.parametrize("event_type", sorted(TYPES))
def test_every_string_field_of_the_event_data_has_a_clear_class(event_type):
    schema, _ = TYPES[event_type]
    assert classified.unclassified_strings(schema) == []


@pytest.mark.parametrize("event_type", sorted(TYPES))
def test_no_personal_field_is_also_a_data_field(event_type):
    schema, sealed = TYPES[event_type]
    data_keys = {field.data_key or name for name, field in schema.fields.items()}
    assert not data_keys & sealed


def test_every_ticketing_event_the_domain_emits_is_declared():
    assert {f"ticketing.{name}" for name in EVENT_TYPES} <= set(TYPES)


def test_titles_descriptions_notes_and_comments_are_sealed_fields():
    assert TYPES["ticketing.ticket_opened"][1] == {"title", "description"}
    assert TYPES["ticketing.ticket_updated"][1] == {"title", "description"}
    assert TYPES["ticketing.status_changed"][1] == {"note"}
    assert TYPES["ticketing.comment_added"][1] == {"body"}


def test_a_string_field_without_a_class_is_found():
    class Careless(EventData):
        ticket_id = Id()
        title = fields.String()
        words = fields.List(fields.String())
        anything = fields.Raw()

    assert classified.unclassified_strings(Careless()) == ["title", "words[]", "anything"]


def test_a_personal_class_is_not_a_clear_class():
    class Leaky(EventData):
        note = fields.String(metadata={"class": classified.PERSONAL})

    assert classified.unclassified_strings(Leaky()) == ["note"]


def opened(**changes):
    data = {
        "ticket_id": str(uuid.uuid4()),
        "type": "incident",
        "category": None,
        "urgency": "low",
        "impact": "low",
        "critical": False,
        "priority": "low",
        "requester_id": str(uuid.uuid4()),
        "opened_by": str(uuid.uuid4()),
        "watchers": [],
        "tags": [],
    }
    return {**data, **changes}


def make(data, pii=None, event_type="ticketing.ticket_opened"):
    return Envelope.new(
        event_type, str(uuid.uuid4()), "ticket-x", data, actor={"system": "test"}, pii=pii
    )


def test_an_envelope_keeping_to_its_classes_is_made():
    assert make(opened(), {"title": sealed_entry()}).data["type"] == "incident"


def test_a_title_in_clear_data_is_refused_when_the_envelope_is_made():
    with pytest.raises(UnclassifiedEvent, match="title") as refused:
        make(opened(title="Jane Roe 078-05-1120"))
    assert "Jane" not in str(refused.value)


def test_an_email_in_an_id_field_is_refused_without_echoing_it():
    with pytest.raises(UnclassifiedEvent, match="requester_id") as refused:
        make(opened(requester_id="jane.roe@example.test"))
    assert "jane" not in str(refused.value)


def test_free_text_in_a_slug_field_is_refused():
    with pytest.raises(UnclassifiedEvent, match="tags"):
        make(opened(tags=["Jane Roe"]))


def test_plaintext_in_the_sealed_part_is_refused():
    with pytest.raises(UnclassifiedEvent, match="title"):
        make(opened(), {"title": "Jane Roe"})


def test_a_sealed_field_the_type_does_not_declare_is_refused():
    with pytest.raises(UnclassifiedEvent, match="nickname"):
        make(opened(), {"nickname": sealed_entry()})


def test_an_undeclared_type_of_a_declaring_service_is_refused():
    with pytest.raises(UnclassifiedEvent, match="not a declared event type"):
        make({}, event_type="ticketing.ticket_gossiped")


def test_types_of_a_service_that_declares_nothing_are_not_checked():
    assert make({"anything": "at all"}, event_type="probe.thing_happened").data == {
        "anything": "at all"
    }


def test_a_registered_type_is_checked_from_then_on():
    class Probe(EventData):
        thing_id = Id()

    register("probe2.thing_happened", Probe)
    with pytest.raises(UnclassifiedEvent):
        make({"thing_id": "not an id"}, event_type="probe2.thing_happened")


def test_a_trailing_newline_does_not_make_a_slug():
    with pytest.raises(UnclassifiedEvent, match="tags"):
        make(opened(tags=["vpn\n"]))
