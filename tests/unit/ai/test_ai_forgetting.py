import uuid

from services.ai.models import TenantModel, TicketDoc
from tests.support.ticket_corpus import tenant_corpus


def _learned(tickets):
    model = TenantModel(str(uuid.uuid4()))
    model.learn_many(ticket.to_doc() for ticket in tickets)
    return model


def test_forgetting_a_subject_removes_every_ticket_by_or_about_them_from_similar_results(rng):
    tickets = tenant_corpus(seed=rng.randrange(10**6), tickets=400).tickets
    model = _learned(tickets)
    subject = tickets[0].requester.subject_id
    theirs = {t.ticket_id for t in tickets if subject in t.to_doc().subject_ids}
    assert tickets[0].ticket_id in dict(model.similar(tickets[0].text, k=3))

    removed = model.forget_subject(subject)

    assert set(removed) == theirs
    for ticket in tickets:
        if ticket.ticket_id in theirs:
            assert not {tid for tid, _ in model.similar(ticket.text, k=len(tickets))} & theirs
    assert len(model) == len(tickets) - len(theirs)


def test_forgetting_a_commenter_removes_the_tickets_they_commented_on():
    model = TenantModel(str(uuid.uuid4()))
    requester, commenter = str(uuid.uuid4()), str(uuid.uuid4())
    ticket_id = str(uuid.uuid4())
    model.learn(TicketDoc(ticket_id, {requester, commenter}, "VPN drops every hour", "network", "high"))

    assert model.forget_subject(commenter) == [ticket_id]
    assert model.similar("VPN drops every hour") == []


def test_forgetting_a_subject_removes_their_labels_from_the_training_data():
    model = TenantModel(str(uuid.uuid4()))
    erased = str(uuid.uuid4())
    for number in range(30):
        model.learn(TicketDoc(str(uuid.uuid4()), {str(uuid.uuid4())}, f"printer {number} jammed paper tray", "printing", "low"))
    for number in range(30):
        model.learn(TicketDoc(str(uuid.uuid4()), {erased}, f"phishing email {number} credentials link", "security", "critical"))
    assert model.suggest("phishing email credentials").category == "security"

    model.forget_subject(erased)

    suggestion = model.suggest("phishing email credentials")
    assert (suggestion.category, suggestion.priority) == ("printing", "low")


def test_forgetting_a_ticket_removes_it_from_similar_results(rng):
    tickets = tenant_corpus(seed=rng.randrange(10**6), tickets=100).tickets
    model = _learned(tickets)

    assert model.forget_ticket(tickets[5].ticket_id) is True

    assert tickets[5].ticket_id not in dict(model.similar(tickets[5].text, k=len(tickets)))
    assert model.forget_ticket(tickets[5].ticket_id) is False
