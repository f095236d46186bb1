"""A payload carries ids, slugs and instants: never a personal field, public text or digest."""

import json
import uuid

import pytest
from marshmallow import fields

from services.integrations import payloads
from shared.classified import CLEAR_CLASSES, registered
from shared.crypto import FieldCipher, LocalKeyring
from shared.envelope import Envelope, load_envelope

TENANT = str(uuid.uuid4())
TYPES = registered()
NAME = "Zoë Quaglia-Marchetti"
EMAIL = "zoe.quaglia@example.org"


def envelope(event_type, data, pii=None, actor=None):
    return load_envelope(
        Envelope.new(
            event_type,
            TENANT,
            f"s-{uuid.uuid4()}",
            data,
            pii=pii,
            actor=actor or {"user_id": str(uuid.uuid4()), "roles": ["agent"]},
        ).to_dict()
    )


def sealed(fields_):
    cipher = FieldCipher(LocalKeyring())
    subject = str(uuid.uuid4())
    return cipher.seal(TENANT, {name: (subject, value) for name, value in fields_.items()})


def test_a_ticket_opened_payload_holds_its_ids_and_slugs_and_not_its_title():
    ticket_id, requester = str(uuid.uuid4()), str(uuid.uuid4())
    data = {
        "ticket_id": ticket_id,
        "requester_id": requester,
        "opened_by": requester,
        "type": "incident",
        "category": "network",
        "urgency": "high",
        "impact": "low",
        "priority": "medium",
        "critical": False,
        "watchers": [],
        "tags": ["vpn"],
    }
    pii = sealed({"title": f"{NAME} cannot log in", "description": f"Mail {EMAIL}"})
    event = envelope("ticketing.ticket_opened", data, pii)
    body = payloads.payload(event)
    assert body["type"] == "ticketing.ticket_opened"
    assert body["tenant_id"] == TENANT
    assert body["id"] == event.event_id
    assert body["timestamp"] == event.occurred_at
    assert body["data"] == data
    assert set(body["actor"]) == {"user_id", "roles"}
    text = json.dumps(body)
    assert "title" not in text and "description" not in text and "pii" not in text
    assert all(entry["c"] not in text for entry in pii.values())


def test_public_text_and_digests_are_left_out():
    event = envelope(
        "identity.tenant_created",
        {"tenant_id": TENANT, "kind": "organization", "name": "Acme", "provider": "google"},
    )
    assert payloads.payload(event)["data"] == {
        "tenant_id": TENANT,
        "kind": "organization",
        "provider": "google",
    }


def test_an_actor_keeps_only_ids_roles_and_a_system_name():
    kept = payloads._actor(
        {"user_id": str(uuid.uuid4()), "roles": ["admin"], "email": EMAIL, "name": NAME}
    )
    assert set(kept) == {"user_id", "roles"}
    assert payloads._actor({"user_id": NAME}) == {}
    assert payloads._actor({"system": "ticketing"}) == {"system": "ticketing"}


def test_an_undeclared_type_carries_no_data():
    assert payloads.carried_data("nobody.said_so", {"name": NAME}) == {}


def _top_level_text_fields(schema):
    for name, field in schema.fields.items():
        if isinstance(field, fields.String):
            yield field.data_key or name, field.metadata.get("class")


@pytest.mark.parametrize("event_type", sorted(TYPES))
def test_no_field_outside_ids_slugs_and_instants_survives(event_type):
    schema, sealed_fields = TYPES[event_type]
    data = {key: "x" for key, _ in _top_level_text_fields(schema)}
    data.update({name: NAME for name in sealed_fields})
    carried = payloads.carried_data(event_type, data)
    for key, kind in _top_level_text_fields(schema):
        if kind not in {"id", "slug", "timestamp"}:
            assert key not in carried, (event_type, key, kind)
    assert not set(carried) & set(sealed_fields)
    assert NAME not in json.dumps(carried)
    assert set(carried) <= {f.data_key or n for n, f in schema.fields.items()}
    assert CLEAR_CLASSES >= {"id", "slug", "timestamp"}


def _nested_list(field):
    return isinstance(field, fields.List) and isinstance(field.inner, fields.Nested)


def test_nested_values_keep_to_their_classes_too():
    event_type = next(
        t
        for t, (schema, _) in TYPES.items()
        if any(
            isinstance(f, fields.List) and isinstance(f.inner, fields.Nested)
            for f in schema.fields.values()
        )
    )
    schema, _ = TYPES[event_type]
    name, field = next((n, f) for n, f in schema.fields.items() if _nested_list(f))
    inner = {k: "x" for k, _ in _top_level_text_fields(field.inner.schema)}
    carried = payloads.carried_data(event_type, {field.data_key or name: [inner]})
    kept = carried[field.data_key or name][0]
    for key, kind in _top_level_text_fields(field.inner.schema):
        assert (key in kept) == (kind in {"id", "slug", "timestamp"})


def test_subscriptions_are_declared_types_a_service_or_everything():
    assert payloads.valid_subscription("ticketing.ticket_opened")
    assert payloads.valid_subscription("ticketing.*")
    assert payloads.valid_subscription("*")
    assert not payloads.valid_subscription("ticketing.no_such_thing")
    assert not payloads.valid_subscription("billing.*")
    assert payloads.subscriptions_of("ticketing.ticket_opened") == [
        "*",
        "ticketing.*",
        "ticketing.ticket_opened",
    ]
