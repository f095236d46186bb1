"""Tenant models stay within AI_MODEL_CACHE_MIB: the least recently used go, and come back."""

import requests

from services.ai.dependencies import Models
from tests.support.ticket_corpus import tenant_corpus


def _cache(rig):
    return next(dep for dep in rig.container.extensions if isinstance(dep, Models)).models


def _open(rig, seed, tickets):
    corpus = tenant_corpus(seed, tickets)
    for ticket in corpus.tickets:
        rig.ticketing.open_corpus_ticket(ticket, corpus.agents[0].subject_id)
    return corpus


def _similar_ids(rig, corpus, ticket_id):
    response = requests.get(
        f"{rig.base}/tickets/{ticket_id}/similar?limit=50",
        headers=rig.headers(corpus.tenant_id),
        timeout=10,
    )
    assert response.status_code == 200
    return {item["ticket_id"] for item in response.json()["items"]}


def test_the_least_recently_used_tenant_model_is_evicted_past_the_budget(start_ai):
    rig = start_ai()
    first, second, third = (_open(rig, seed, 20) for seed in (11, 12, 13))
    rig.wait_for_events()
    cache = _cache(rig)
    for corpus in (first, second, third):
        _similar_ids(rig, corpus, corpus.tickets[0].ticket_id)
    for corpus in (first, second):  # the third is now the least recently used, then the first
        _similar_ids(rig, corpus, corpus.tickets[0].ticket_id)
    cache.budget = cache.nbytes - 1  # one of the three must go

    _similar_ids(rig, third, third.tickets[0].ticket_id)

    assert cache.registry.get(first.tenant_id) is None
    assert set(cache.registry.tenants()) == {second.tenant_id, third.tenant_id}
    assert cache.nbytes <= cache.budget


def test_a_model_evicted_after_an_erasure_is_rebuilt_without_the_erased_tickets(start_ai):
    rig = start_ai()
    corpus = _open(rig, 4242, 40)
    other = _open(rig, 77, 20)
    rig.wait_for_events()
    subject = corpus.tickets[0].requester
    theirs = {t.ticket_id for t in corpus.tickets if t.requester == subject}
    someone_elses = [t for t in corpus.tickets if t.requester != subject]
    assert set().union(*(_similar_ids(rig, corpus, t.ticket_id) for t in someone_elses)) & theirs

    with rig.rpc() as ai:
        ai.purge_subject(corpus.tenant_id, subject.subject_id, "req-evicted")
    cache = _cache(rig)
    cache.budget = 1  # every use now evicts every other tenant's model
    _similar_ids(rig, other, other.tickets[0].ticket_id)
    assert cache.registry.get(corpus.tenant_id) is None

    found = set().union(*(_similar_ids(rig, corpus, t.ticket_id) for t in someone_elses))

    assert found and not found & theirs
    rebuilt = cache.registry.get(corpus.tenant_id)
    assert len(rebuilt) == len(someone_elses) and not any(tid in rebuilt for tid in theirs)
