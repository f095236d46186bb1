"""A service account acts on tickets as a program: its envelopes name it `{service_account}`,
the timeline reads it back as the same actor, and it opens tickets like any requester."""

import uuid

from services.ticketing.domain import Actor, OpenTicket
from services.ticketing.envelopes import actor_from_principal, actor_id, envelope_actor
from shared.auth import Principal, new_service_account_id


def test_a_service_accounts_principal_becomes_a_program_actor_in_its_envelopes():
    account = new_service_account_id()
    principal = Principal(account, str(uuid.uuid4()), frozenset({"agent"}), kind="service_account")
    actor = actor_from_principal(principal)
    assert actor == Actor(account, frozenset({"agent"}), service_account=True)
    assert envelope_actor(actor) == {"service_account": account}
    assert actor_id(envelope_actor(actor)) == account


def test_people_and_the_service_itself_keep_their_envelope_actors():
    person = actor_from_principal(Principal("u1", "t", frozenset({"requester"})))
    assert envelope_actor(person) == {"user_id": "u1", "roles": ["requester"]}
    assert envelope_actor(Actor.system("sla")) == {"system": "sla"}
    assert actor_id({"system": "sla"}) == "system:sla"


def test_a_service_account_opens_a_ticket_as_its_own_requester(new_stream, new_id):
    program = Actor(new_service_account_id(), frozenset({"requester"}), service_account=True)
    ticket_id = new_id()
    (opened,) = new_stream().when(
        OpenTicket(actor=program, ticket_id=ticket_id, type="incident", title="Backup failed")
    )
    assert opened.data["requester_id"] == program.user_id
    assert opened.data["opened_by"] == program.user_id
