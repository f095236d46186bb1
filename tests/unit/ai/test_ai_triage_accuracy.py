import collections
import uuid

from services.ai.models.triage import TenantModel
from tests.support.ticket_corpus import tenant_corpus


def _majority_accuracy(train, held_out, field):
    majority = collections.Counter(getattr(t, field) for t in train).most_common(1)[0][0]
    return sum(getattr(t, field) == majority for t in held_out) / len(held_out)


def test_suggestions_learned_from_a_tenants_history_beat_the_majority_baseline_on_held_out():
    history = tenant_corpus(seed=20240611, tickets=3000).tickets
    train, held_out = history[:2400], history[2400:]
    model = TenantModel(str(uuid.uuid4()))
    model.learn_many(ticket.to_doc() for ticket in train)

    suggestions = [model.suggest(ticket.text) for ticket in held_out]
    category = sum(s.category == t.category for s, t in zip(suggestions, held_out)) / len(held_out)
    priority = sum(s.priority == t.priority for s, t in zip(suggestions, held_out)) / len(held_out)
    category_baseline = _majority_accuracy(train, held_out, "category")
    priority_baseline = _majority_accuracy(train, held_out, "priority")
    print(
        f"category {category:.3f} vs majority {category_baseline:.3f}; "
        f"priority {priority:.3f} vs majority {priority_baseline:.3f}"
    )

    assert {s.basis for s in suggestions} == {"model"}
    assert category >= category_baseline + 0.4
    assert priority >= priority_baseline + 0.25
