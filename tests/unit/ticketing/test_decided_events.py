"""envelopes.decided: a just-sealed event folds exactly as it would once stored and opened, an
erased subject's fields included (the desk folds from it instead of decrypting)."""

import uuid
from datetime import UTC, datetime

import pytest

from services.ticketing.domain import Actor, NewEvent, OpenTicket, decide
from services.ticketing.envelopes import decided, envelope_actor, opened, seal, stream_id
from shared.crypto import FieldCipher, LocalKeyring
from shared.envelope import Envelope

NOW = datetime(2025, 3, 12, 9, 0, 0, 123456, tzinfo=UTC)


def _envelopes(cipher, tenant, state, command):
    out = []
    for n, new in enumerate(decide(state, command, NOW, {}), 1):
        envelope = Envelope.new(
            f"ticketing.{new.type}",
            tenant,
            stream_id(command.ticket_id if hasattr(command, "ticket_id") else "x"),
            new.data,
            actor=envelope_actor(command.actor),
            pii=seal(cipher, tenant, new),
            occurred_at=NOW,
        ).with_version(n)
        out.append((envelope, new))
    return out


@pytest.mark.parametrize("shredded", [False, True])
def test_a_decided_event_is_what_opening_its_envelope_gives(shredded):
    keyring = LocalKeyring()
    cipher, tenant = FieldCipher(keyring), str(uuid.uuid4())
    requester = Actor(str(uuid.uuid4()), frozenset({"requester"}))
    if shredded:
        keyring.get_key(tenant, requester.user_id, create=True)
        keyring.shred(tenant, requester.user_id)
    command = OpenTicket(
        actor=requester,
        ticket_id=str(uuid.uuid4()),
        type="incident",
        title="Ada's VPN",
        description="It drops every hour.",
    )
    pairs = _envelopes(cipher, tenant, None, command)
    assert pairs and any(new.pii for _, new in pairs)
    for envelope, new in pairs:
        assert decided(envelope, new) == opened(cipher, envelope)


def test_a_decided_event_without_personal_fields_opens_alike():
    cipher, tenant = FieldCipher(LocalKeyring()), str(uuid.uuid4())
    agent = Actor(str(uuid.uuid4()), frozenset({"agent"}))
    envelope = Envelope.new(
        "ticketing.comment_added",
        tenant,
        "ticket-x",
        {"comment_id": str(uuid.uuid4())},
        actor=envelope_actor(agent),
        occurred_at=NOW,
    ).with_version(3)
    new = NewEvent(type="comment_added", data=envelope.data, pii={})
    assert decided(envelope, new) == opened(cipher, envelope)
