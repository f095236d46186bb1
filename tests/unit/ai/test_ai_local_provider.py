import uuid

from services.ai.models.documents import TicketDoc
from services.ai.models.registry import ModelRegistry
from services.ai.text.providers import LocalProvider
from services.ai.text.redaction import Redactor
from services.ai.text.summary import Thread


def _registry_with_resolved_ticket(tenant_id, resolution):
    registry = ModelRegistry()
    registry.model(tenant_id).learn(
        TicketDoc(
            str(uuid.uuid4()),
            {str(uuid.uuid4())},
            "Printer on the 3rd floor offline, jobs stuck in queue",
            "printing",
            "medium",
            resolution,
        )
    )
    return registry


def test_a_reply_draft_reuses_the_resolution_of_a_similar_ticket_of_the_same_tenant():
    tenant_id = str(uuid.uuid4())
    registry = _registry_with_resolved_ticket(
        tenant_id, "Restarted the print spooler and cleared the queue."
    )
    thread = Thread(
        "Printer offline",
        "The printer on the 3rd floor is offline and jobs are stuck.",
        tenant_id=tenant_id,
    )

    reply = LocalProvider(registry).suggest_reply(thread)

    assert "Restarted the print spooler and cleared the queue." in reply


def test_a_reply_draft_never_quotes_another_tenants_resolution():
    registry = _registry_with_resolved_ticket(
        str(uuid.uuid4()), "Restarted the print spooler and cleared the queue."
    )
    thread = Thread(
        "Printer offline",
        "The printer on the 3rd floor is offline and jobs are stuck.",
        tenant_id=str(uuid.uuid4()),
    )

    reply = LocalProvider(registry).suggest_reply(thread)

    assert "spooler" not in reply
    assert reply.startswith("Hello,")


def test_a_quoted_resolution_does_not_reveal_the_other_requesters_contact_details():
    tenant_id = str(uuid.uuid4())
    registry = _registry_with_resolved_ticket(
        tenant_id,
        "Called Zofia Novak on +48 601 234 567 and restarted the print spooler for"
        " zofia@acme.example.",
    )
    people = (("Zofia Novak", "zofia@acme.example"),)
    thread = Thread(
        "Printer offline",
        "The printer on the 3rd floor is offline.",
        tenant_id=tenant_id,
        people=people,
    )

    reply = LocalProvider(registry, redactor_factory=lambda _: Redactor(people)).suggest_reply(
        thread
    )

    assert "spooler" in reply
    assert "Zofia" not in reply and "601 234 567" not in reply and "zofia@" not in reply
