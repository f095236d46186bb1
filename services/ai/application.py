"""What the ai endpoints answer: triage and similar tickets from a tenant model, threads to
summarize, and the triage suggestion published for an opened ticket."""

from services.ai import store
from services.ai.exceptions import TicketNotFound
from services.ai.models.documents import ticket_text
from services.ai.schemas import TriageSuggestedSchema
from services.ai.text.summary import Thread
from shared.crypto import ERASED
from shared.envelope import system_actor


def _open(cipher, tenant_id, field, sealed):
    return cipher.open_value(tenant_id, field, sealed) if sealed else ""


def ticket(conn, ticket_id):
    """The current tenant's stored ticket; `TicketNotFound` when unknown (or another tenant's)."""
    found = store.ticket(conn, ticket_id)
    if found is None:
        raise TicketNotFound(ticket_id)
    return found


def text_of(cipher, tenant_id, ticket):
    """Title and description of a stored ticket; empty where erased."""
    title = _open(cipher, tenant_id, "title", ticket["title"])
    description = _open(cipher, tenant_id, "description", ticket["description"])
    return ticket_text(
        *(value if value != ERASED else "" for value in (title, description))
    ).strip()


def _similar_items(pairs, exclude, k):
    return [
        {"ticket_id": ticket_id, "score": score}
        for ticket_id, score in pairs
        if ticket_id != exclude
    ][:k]


def triage(model, ticket_id, text, k=5):
    suggestion = model.suggest(text, k=k + 1)
    return {
        "ticket_id": ticket_id,
        "category": suggestion.category,
        "priority": suggestion.priority,
        "confidence": round(suggestion.confidence, 4),
        "category_confidence": round(suggestion.category_confidence, 4),
        "priority_confidence": round(suggestion.priority_confidence, 4),
        "basis": suggestion.basis,
        "similar": _similar_items(suggestion.similar, ticket_id, k),
    }


def similar(model, ticket_id, text, k=5):
    if ticket_id in model:
        return _similar_items(model.similar_to(ticket_id, k), ticket_id, k)
    return _similar_items(model.similar(text, k + 1), ticket_id, k) if text else []


def suggestion_event_data(ticket_id, suggestion):
    """``ai.triage_suggested`` data: labels and ids only, never text or people."""
    return {
        "ticket_id": ticket_id,
        "category": suggestion.category,
        "priority": suggestion.priority,
        "confidence": round(suggestion.confidence, 4),
        "similar": [ticket for ticket, _ in suggestion.similar],
    }


def known_people(conn, cipher, tenant_id, directory):
    """(name, email) of the tenant's users (identity's directory) and of people seen in events."""
    found = [
        (user.get("name") or "", user.get("email") or "")
        for user in directory
        if isinstance(user, dict)
    ]
    for fields in store.people(conn).values():
        opened = {
            field: cipher.open_value(tenant_id, field, sealed) for field, sealed in fields.items()
        }
        names = [v for f, v in opened.items() if f.endswith("name") and v and v != ERASED]
        emails = [v for f, v in opened.items() if f.endswith("email") and v and v != ERASED]
        for index in range(max(len(names), len(emails))):
            found.append(
                (
                    names[index] if index < len(names) else "",
                    emails[index] if index < len(emails) else "",
                )
            )
    return tuple(person for person in dict.fromkeys(found) if any(person))


def thread(conn, cipher, tenant_id, ticket, people):
    comments = []
    for comment in store.comments(conn, ticket["stream_id"]):
        body = cipher.open_value(tenant_id, "body", comment["body"])
        if body and body != ERASED:
            comments.append(body)
    title = _open(cipher, tenant_id, "title", ticket["title"])
    description = _open(cipher, tenant_id, "description", ticket["description"])
    return Thread(title, description, tuple(comments), tenant_id=str(tenant_id), people=people)


def suggest_triage(db, models, cipher, event):
    """Publish ``ai.triage_suggested`` for an opened ticket (for agents, never applied here),
    only once the tenant's model has learned enough."""
    model = models.current(db.conn, cipher, event.tenant_id)
    opened = cipher.open(event.tenant_id, event.pii)
    title, description = (
        opened.get(field, event.data.get(field, "")) for field in ("title", "description")
    )
    suggestion = model.suggest(
        ticket_text(*("" if text == ERASED else text for text in (title, description)))
    )
    if suggestion.basis != "model":
        return
    ticket_id = event.data["ticket_id"]
    data = TriageSuggestedSchema().load(suggestion_event_data(ticket_id, suggestion))
    stream_id = f"triage-{ticket_id}"
    suggested = db.new_event("triage_suggested", stream_id, data, actor=system_actor("ai"))
    db.append_next(stream_id, [suggested])
