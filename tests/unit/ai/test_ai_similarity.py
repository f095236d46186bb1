import uuid

from services.ai.models.documents import TicketDoc
from services.ai.models.features import MIN_LABELLED
from services.ai.models.triage import TenantModel
from tests.support.ticket_corpus import tenant_corpus


def _doc(text, category=None, priority=None, ticket_id=None):
    return TicketDoc(ticket_id or str(uuid.uuid4()), {str(uuid.uuid4())}, text, category, priority)


def test_similar_to_a_known_ticket_never_returns_the_ticket_itself(rng):
    tickets = tenant_corpus(seed=rng.randrange(10**6), tickets=200).tickets
    model = TenantModel(str(uuid.uuid4()))
    model.learn_many(ticket.to_doc() for ticket in tickets)

    for ticket in tickets[:40]:
        results = model.similar_to(ticket.ticket_id, k=5)
        assert results and ticket.ticket_id not in dict(results)


def test_the_original_of_a_generated_duplicate_ranks_first_among_similar_tickets():
    # fixed corpora: one corpus alone ranges from 0.77 to 0.96 over seeds, so a random seed
    # would make this a coin toss near the bar; three together are a fixed, fair sample
    found = duplicates = 0
    for seed in (101, 202, 303):
        tickets = tenant_corpus(seed=seed, tickets=600, duplicate_rate=0.1).tickets
        model = TenantModel(str(uuid.uuid4()))
        model.learn_many(ticket.to_doc() for ticket in tickets)
        generated = [ticket for ticket in tickets if ticket.duplicate_of]
        found += sum(model.similar_to(d.ticket_id, k=1)[0][0] == d.duplicate_of for d in generated)
        duplicates += len(generated)

    assert found / duplicates >= 0.8, f"{found}/{duplicates}"


def test_tickets_learned_one_by_one_are_searchable_at_once():
    model = TenantModel(str(uuid.uuid4()))
    model.learn_many(_doc(f"generic filler ticket number {n} about laptops") for n in range(300))
    model.suggest("build the index")
    fresh = _doc("Outlook shared mailbox vanished from the folder list")

    model.learn(fresh)

    assert model.similar("shared mailbox vanished", k=1)[0][0] == fresh.ticket_id


def test_relearning_a_ticket_with_new_text_replaces_its_old_text():
    model = TenantModel(str(uuid.uuid4()))
    ticket_id = str(uuid.uuid4())
    model.learn(_doc("keyboard keys stuck after coffee spill", ticket_id=ticket_id))
    model.suggest("build the index")

    model.learn(_doc("docking station not detected", ticket_id=ticket_id))

    assert model.similar("keyboard keys stuck coffee spill") == []
    assert model.similar("docking station not detected")[0][0] == ticket_id
    assert len(model) == 1


def test_too_little_labelled_data_falls_back_to_the_majority_class_and_says_so():
    model = TenantModel(str(uuid.uuid4()))
    labels = ["access"] * 3 + ["email"] * 2
    model.learn_many(_doc(f"ticket {n}", category, "medium") for n, category in enumerate(labels))
    assert len(labels) < MIN_LABELLED

    suggestion = model.suggest("Outlook does not sync")

    assert (suggestion.category, suggestion.basis) == ("access", "majority")
    assert suggestion.category_confidence == 0.6


def test_a_model_whose_tickets_hold_no_words_answers_with_nothing_similar():
    # stop words and punctuation only: the tenant's vocabulary stays empty (the fuzz's tickets)
    model = TenantModel(str(uuid.uuid4()))
    first = _doc("the and of !!!")
    model.learn_many([first, _doc("?? -- ..")])

    assert model.similar("it is the") == []
    assert model.similar_to(first.ticket_id) == []
    model.learn(_doc("printer on floor three jams"))
    assert model.similar("printer jams")
