import uuid

import pytest

from services.ai.models.documents import TicketDoc
from services.ai.models.triage import TenantModel
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
    model.learn(
        TicketDoc(ticket_id, {requester, commenter}, "VPN drops every hour", "network", "high")
    )

    assert model.forget_subject(commenter) == [ticket_id]
    assert model.similar("VPN drops every hour") == []


def test_forgetting_a_subject_removes_their_labels_from_the_training_data():
    model = TenantModel(str(uuid.uuid4()))
    erased = str(uuid.uuid4())
    for number in range(30):
        model.learn(
            TicketDoc(
                str(uuid.uuid4()),
                {str(uuid.uuid4())},
                f"printer {number} jammed paper tray",
                "printing",
                "low",
            )
        )
    for number in range(30):
        model.learn(
            TicketDoc(
                str(uuid.uuid4()),
                {erased},
                f"phishing email {number} credentials link",
                "security",
                "critical",
            )
        )
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


def test_a_model_that_forgot_a_subject_answers_as_one_that_never_learned_them(rng):
    tickets = tenant_corpus(seed=rng.randrange(10**6), tickets=300).tickets
    erased = tickets[0].requester.subject_id
    kept = [t.to_doc() for t in tickets if erased not in t.to_doc().subject_ids]
    never = TenantModel(str(uuid.uuid4()))
    never.learn_many(kept)
    marker = _unused_word(never, rng)
    theirs = [
        TicketDoc(str(uuid.uuid4()), {erased}, f"{marker} keyboard {n}", "security", "high")
        for n in range(5)
    ]
    forgetting = _learned(tickets)
    forgetting.learn_many(theirs)

    forgetting.forget_subject(erased)

    hashed = forgetting._features([marker]).indices  # a word only the subject wrote
    assert (forgetting._vocabulary.lookup(hashed) == -1).all()
    for text in [marker] + [t.text for t in tickets[:40]]:
        ours, theirs_ = forgetting.suggest(text), never.suggest(text)
        assert (ours.category, ours.priority) == (theirs_.category, theirs_.priority)
        assert ours.confidence == pytest.approx(theirs_.confidence, rel=1e-4)
        assert_same_ranking(ours.similar, theirs_.similar)


def _unused_word(model, rng):
    """A word whose hashed feature no ticket the model learned has (a random word can collide
    with a corpus word in the hashing space, and then the column rightly stays)."""
    while True:
        word = "zq" + "".join(rng.choice("0123456789abcdef") for _ in range(10))
        if (model._vocabulary.lookup(model._features([word]).indices) == -1).all():
            return word


def assert_same_ranking(ours, theirs, tolerance=1e-3):
    """The same tickets at the same scores, best first. Two models that summed the same counts
    in another order may differ in the last bits of a score, so tickets whose scores tie within
    `tolerance` may come in either order, and at the cut-off either of them may be the one kept."""
    assert [score for _, score in ours] == pytest.approx(
        [score for _, score in theirs], abs=tolerance
    )
    groups, start = [], 0
    for end in range(1, len(theirs) + 1):
        if end == len(theirs) or theirs[end][1] < theirs[end - 1][1] - tolerance:
            groups.append((start, end))
            start = end
    for start, end in groups[:-1]:  # the last group may be cut off at k: its scores say enough
        assert {tid for tid, _ in ours[start:end]} == {tid for tid, _ in theirs[start:end]}


def test_a_tenant_model_grows_with_its_vocabulary_not_with_the_hashing_space(rng):
    model = _learned(tenant_corpus(seed=rng.randrange(10**6), tickets=50).tickets)
    model.suggest("printer jammed")

    assert model.nbytes < 512 * 1024  # a dense 2**17-wide row per label was 0.5 MiB each
