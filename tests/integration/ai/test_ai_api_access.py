import uuid

import requests

from tests.support.ticket_corpus import tenant_corpus


def _open_tickets(rig, corpus, count):
    agent = corpus.agents[0].subject_id
    for ticket in corpus.tickets[:count]:
        rig.ticketing.open_corpus_ticket(ticket, agent)
    rig.wait_for_events()
    return corpus.tickets[:count]


def test_a_requester_may_not_ask_for_a_triage_suggestion(start_ai):
    rig = start_ai()
    tenant, ticket = str(uuid.uuid4()), str(uuid.uuid4())
    rig.ticketing.open(tenant, ticket, str(uuid.uuid4()), "VPN drops", "It drops every hour.")
    rig.wait_for_events()

    response = requests.post(
        f"{rig.base}/tickets/{ticket}/triage",
        headers=rig.headers(tenant, roles=("requester",)),
        timeout=10,
    )

    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/problem+json"


def test_another_tenants_ticket_is_not_found_for_triage_similar_or_summary(start_ai):
    rig = start_ai()
    tenant, other, ticket = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    rig.ticketing.open(tenant, ticket, str(uuid.uuid4()), "Printer offline", "Jobs stay queued.")
    rig.wait_for_events()
    headers = rig.headers(other, roles=("admin",))

    answers = [
        requests.post(f"{rig.base}/tickets/{ticket}/triage", headers=headers, timeout=10),
        requests.get(f"{rig.base}/tickets/{ticket}/similar", headers=headers, timeout=10),
        requests.post(f"{rig.base}/tickets/{ticket}/summary", headers=headers, timeout=10),
    ]

    assert [answer.status_code for answer in answers] == [404, 404, 404]
    assert (
        requests.post(
            f"{rig.base}/tickets/{ticket}/triage", headers=rig.headers(tenant), timeout=10
        ).status_code
        == 200
    )


def test_similar_tickets_never_come_from_another_tenant_even_for_identical_text(start_ai):
    rig = start_ai()
    seed = 4040  # fixed corpora: every ticket of mine has similar ones of mine
    mine, theirs = tenant_corpus(seed, 40), tenant_corpus(seed + 1, 40)
    # The other tenant holds word-for-word copies of my tickets under its own ids.
    for ticket in theirs.tickets[:20]:
        ticket.title, ticket.description = mine.tickets[0].title, mine.tickets[0].description
    _open_tickets(rig, mine, 40)
    _open_tickets(rig, theirs, 40)
    my_ids = {t.ticket_id for t in mine.tickets}

    for ticket in mine.tickets[:5]:
        response = requests.post(
            f"{rig.base}/tickets/{ticket.ticket_id}/triage?limit=20",
            headers=rig.headers(mine.tenant_id),
            timeout=10,
        )
        similar = {item["ticket_id"] for item in response.json()["similar"]}
        assert response.status_code == 200 and similar and similar <= my_ids
        response = requests.get(
            f"{rig.base}/tickets/{ticket.ticket_id}/similar?limit=20",
            headers=rig.headers(mine.tenant_id),
            timeout=10,
        )
        assert {item["ticket_id"] for item in response.json()["items"]} <= my_ids - {
            ticket.ticket_id
        }


def test_triage_answers_category_priority_confidence_and_similar_tickets(start_ai):
    rig = start_ai()
    corpus = tenant_corpus(6060, 60)
    tickets = _open_tickets(rig, corpus, 60)

    response = requests.post(
        f"{rig.base}/tickets/{tickets[0].ticket_id}/triage",
        headers=rig.headers(corpus.tenant_id, roles=("admin",)),
        timeout=10,
    )

    body = response.json()
    assert response.status_code == 200
    assert body["category"] in {t.category for t in tickets}
    assert body["priority"] in {"low", "medium", "high", "critical"}
    assert 0 < body["confidence"] <= 1 and body["basis"] == "model"
    assert tickets[0].ticket_id not in {item["ticket_id"] for item in body["similar"]}


def test_the_ai_tables_hold_no_plaintext_of_titles_descriptions_or_comments(start_ai):
    rig = start_ai()
    tenant, ticket, requester, agent = (str(uuid.uuid4()) for _ in range(4))
    rig.ticketing.open(
        tenant,
        ticket,
        requester,
        "Zanzibar laptop overheats",
        "Quixotic fan noise from Ingrid Achterberg's laptop.",
    )
    rig.ticketing.comment(tenant, ticket, agent, "Marmalade procedure applied.")
    rig.ticketing.resolve(tenant, ticket, agent, "Replaced the Kumquat fan.")
    rig.wait_for_events()

    dump = " ".join(
        str(row)
        for table in ("ai_tickets", "ai_comments", "ai_people", "events")
        for row in rig.raw(f"SELECT * FROM {table}")
    )

    assert rig.raw("SELECT count(*) FROM ai_comments")[0][0] == 1
    assert rig.raw("SELECT resolution->>'s' FROM ai_tickets")[0][0] == agent
    for secret in ("Zanzibar", "Quixotic", "Achterberg", "Marmalade", "Kumquat"):
        assert secret not in dump
