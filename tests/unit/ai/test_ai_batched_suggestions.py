"""Suggesting for a burst of texts at once answers exactly what one text at a time would."""

from services.ai.models.triage import TenantModel
from tests.support.ticket_corpus import tenant_corpus


def test_suggestions_made_together_equal_suggestions_made_one_by_one(rng):
    corpus = tenant_corpus(rng.randrange(10**6), 260)
    learned, asked = corpus.tickets[:200], corpus.tickets[200:]
    model = TenantModel(corpus.tenant_id)
    model.learn_many(ticket.to_doc() for ticket in learned)
    texts = [ticket.text for ticket in asked] + ["", "printer"]

    together = model.suggest_many(texts, k=5)

    assert together == [model.suggest(text, k=5) for text in texts]
    assert {suggestion.basis for suggestion in together[:-2]} == {"model"}


def test_no_texts_no_suggestions():
    assert TenantModel("t").suggest_many([]) == []
