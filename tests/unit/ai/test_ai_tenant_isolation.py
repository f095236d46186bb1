import uuid

from services.ai.models.documents import TicketDoc
from services.ai.models.registry import ModelRegistry
from tests.support.ticket_corpus import corpus


def _learned_registry(tenants):
    registry = ModelRegistry()
    for tenant in tenants:
        registry.model(tenant.tenant_id).learn_many(ticket.to_doc() for ticket in tenant.tickets)
    return registry


def test_a_ticket_learned_in_one_tenant_is_never_a_similar_result_in_another(rng):
    tenant_a, tenant_b = corpus(seed=rng.randrange(10**6), tenants=2, tickets_per_tenant=300)
    registry = _learned_registry([tenant_a, tenant_b])
    ids_of_a = {ticket.ticket_id for ticket in tenant_a.tickets}

    for ticket in tenant_a.tickets[:60]:
        found = {
            ticket_id
            for ticket_id, _ in registry.model(tenant_b.tenant_id).similar(ticket.text, k=20)
        }
        assert found, "tenant B has similar IT problems of its own"
        assert not found & ids_of_a


def test_a_tenant_without_tickets_gets_no_suggestion_from_other_tenants_data(rng):
    (tenant_a,) = corpus(seed=rng.randrange(10**6), tenants=1, tickets_per_tenant=200)
    registry = _learned_registry([tenant_a])

    suggestion = registry.model(str(uuid.uuid4())).suggest(tenant_a.tickets[0].text)

    assert (suggestion.category, suggestion.priority, suggestion.similar, suggestion.basis) == (
        None,
        None,
        [],
        "empty",
    )


def test_a_word_only_one_tenant_used_finds_nothing_in_another_tenant():
    registry = ModelRegistry()
    tenant_a, tenant_b = str(uuid.uuid4()), str(uuid.uuid4())
    marker = f"zq{uuid.uuid4().hex[:10]}"
    registry.model(tenant_a).learn(
        TicketDoc(str(uuid.uuid4()), {str(uuid.uuid4())}, f"{marker} server down", "network")
    )
    registry.model(tenant_b).learn(
        TicketDoc(str(uuid.uuid4()), {str(uuid.uuid4())}, "printer jammed", "printing")
    )

    assert registry.model(tenant_b).similar(marker, k=5) == []
    assert len(registry.model(tenant_a).similar(marker, k=5)) == 1


def test_the_registry_gives_each_tenant_its_own_model():
    registry = ModelRegistry()
    tenant_a, tenant_b = str(uuid.uuid4()), str(uuid.uuid4())

    assert registry.model(tenant_a) is registry.model(tenant_a)
    assert registry.model(tenant_a) is not registry.model(tenant_b)
    assert registry.get(str(uuid.uuid4())) is None
