import uuid

import requests

from services.ai.service import AiService
from shared.crypto import ERASED
from tests.support.ticket_corpus import tenant_corpus


def _history(rig, tickets=40):
    """A tenant's tickets, one requester's first; returns (corpus, that requester's ticket ids).

    A fixed corpus: with a random one the requester's only ticket could share no word with
    anyone else's, and the precondition (their tickets show among the similar ones) failed."""
    corpus = tenant_corpus(4242, tickets)
    for ticket in corpus.tickets:
        rig.ticketing.open_corpus_ticket(ticket, corpus.agents[0].subject_id)
    rig.wait_for_events()
    subject = corpus.tickets[0].requester
    return corpus, subject, {t.ticket_id for t in corpus.tickets if t.requester == subject}


def _similar_ids(rig, corpus, ticket_id):
    response = requests.get(
        f"{rig.base}/tickets/{ticket_id}/similar?limit=50",
        headers=rig.headers(corpus.tenant_id),
        timeout=10,
    )
    assert response.status_code == 200
    return {item["ticket_id"] for item in response.json()["items"]}


def _someone_elses(corpus, subject):
    return [t for t in corpus.tickets if t.requester != subject]


def _every_similar(rig, corpus, subject):
    return set().union(
        *(_similar_ids(rig, corpus, t.ticket_id) for t in _someone_elses(corpus, subject))
    )


def test_purge_subject_removes_their_tickets_from_similar_results_and_their_rows(start_ai):
    rig = start_ai()
    corpus, subject, theirs = _history(rig)
    assert _every_similar(rig, corpus, subject) & theirs

    with rig.rpc() as ai:
        receipt = ai.purge_subject(corpus.tenant_id, subject.subject_id, "req-1")

    assert receipt["service"] == "ai" and receipt["request_id"] == "req-1"
    assert receipt["purged"]["tickets"] == len(theirs)
    assert not _every_similar(rig, corpus, subject) & theirs
    assert (
        rig.raw("SELECT count(*) FROM ai_tickets WHERE requester_id = %s", subject.subject_id)[0][0]
        == 0
    )
    requests_after = requests.post(
        f"{rig.base}/tickets/{next(iter(theirs))}/triage",
        headers=rig.headers(corpus.tenant_id),
        timeout=10,
    )
    assert requests_after.status_code == 404


def test_purge_subject_is_idempotent(start_ai):
    rig = start_ai()
    corpus, subject, theirs = _history(rig, tickets=10)

    with rig.rpc() as ai:
        ai.purge_subject(corpus.tenant_id, subject.subject_id, "req-2")
        again = ai.purge_subject(corpus.tenant_id, subject.subject_id, "req-2")

    assert set(again["purged"].values()) == {0}


def test_a_shred_event_makes_the_model_forget_the_subject_before_any_purge(start_ai):
    rig = start_ai()
    corpus, subject, theirs = _history(rig)
    assert _every_similar(rig, corpus, subject) & theirs

    with rig.rpc("privacy") as privacy:
        assert privacy.shred_subject_key(corpus.tenant_id, subject.subject_id, {"system": "test"})
    rig.wait_until(
        lambda: not _every_similar(rig, corpus, subject) & theirs, 10, "the model to forget"
    )

    assert rig.raw("SELECT count(*) FROM ai_tickets WHERE requester_id = %s", subject.subject_id)[
        0
    ][0] == len(theirs)  # rows stay until purge_subject, but their text is unreadable


def test_after_a_restart_the_model_is_rebuilt_without_the_shredded_subjects_text(
    start_ai, container_factory
):
    rig = start_ai()
    corpus, subject, theirs = _history(rig)
    with rig.rpc("privacy") as privacy:
        privacy.shred_subject_key(corpus.tenant_id, subject.subject_id, {"system": "test"})
    rig.container.stop()

    restarted = container_factory(AiService, rig.cfg)
    restarted.start()
    rig.container = restarted

    kept = _someone_elses(corpus, subject)[0]
    found = _similar_ids(rig, corpus, kept.ticket_id)
    assert found and not found & theirs


def test_export_subject_returns_their_tickets_and_comments_decrypted(start_ai):
    rig = start_ai()
    tenant, ticket, requester, agent = (str(uuid.uuid4()) for _ in range(4))
    rig.ticketing.open(
        tenant, ticket, requester, "Monitor flickers", "The second monitor flickers."
    )
    rig.ticketing.comment(
        tenant, ticket, requester, "Still flickering today.", roles=("requester",)
    )
    rig.ticketing.comment(tenant, ticket, agent, "Swapping the cable.")
    rig.wait_for_events()

    with rig.rpc() as ai:
        exported = ai.export_subject(tenant, requester)

    assert exported["tickets"] == [
        {
            "ticket_id": ticket,
            "title": "Monitor flickers",
            "description": "The second monitor flickers.",
            "category": None,
            "priority": None,
        }
    ]
    assert [c["body"] for c in exported["comments"]] == ["Still flickering today."]


def test_export_after_shredding_shows_the_text_as_erased(start_ai):
    rig = start_ai()
    tenant, ticket, requester = (str(uuid.uuid4()) for _ in range(3))
    rig.ticketing.open(
        tenant, ticket, requester, "Laptop will not boot", "Black screen after the logo."
    )
    rig.wait_for_events()

    with rig.rpc("privacy") as privacy, rig.rpc() as ai:
        privacy.shred_subject_key(tenant, requester, {"system": "test"})
        rig.wait_until(
            lambda: ai.export_subject(tenant, requester)["tickets"][0]["title"] == ERASED,
            10,
            "the key cache to drop the key",
        )
        exported = ai.export_subject(tenant, requester)

    assert exported["tickets"][0]["description"] == ERASED
