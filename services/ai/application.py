"""What the ai endpoints answer: triage and similar tickets from a tenant model, threads to
summarize, and the triage suggestion published for an opened ticket."""

from services.ai import projections, store
from services.ai.exceptions import TicketNotFound
from services.ai.models.documents import ticket_text
from services.ai.schemas import TriageSuggestedSchema
from services.ai.text.summary import Thread
from shared import eventstore
from shared.crypto import ERASED
from shared.envelope import Envelope, system_actor


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


def learn_from_ticketing(db, cipher, models, events, *, auto_triage):
    """Record a burst of one tenant's ticketing events, then publish a triage suggestion for
    each ticket opened in it (one model update for all of them)."""
    with db.conn.pipeline():  # the rows in one round trip, not one each
        for event in events:
            projections.apply_ticketing(db.conn, cipher, event)
    opened = [event for event in events if event.name == "ticket_opened"]
    if opened and auto_triage:
        suggest_triage(db, models, cipher, opened)


def _opened_text(cipher, event):
    opened = cipher.open(event.tenant_id, event.pii)
    title, description = (
        opened.get(field, event.data.get(field, "")) for field in ("title", "description")
    )
    return ticket_text(*("" if text == ERASED else text for text in (title, description)))


def suggest_triage(db, models, cipher, events):
    """Publish ``ai.triage_suggested`` for each opened ticket (for agents, never applied here),
    only once the tenant's model has learned enough. The model learns what was committed
    before this burst, once; each suggestion continues its ticket_opened's correlation."""
    model = models.current(db.conn, cipher, events[0].tenant_id)
    suggestions = model.suggest_many([_opened_text(cipher, event) for event in events])
    schema = TriageSuggestedSchema()
    made = [(e, s) for e, s in zip(events, suggestions, strict=True) if s.basis == "model"]
    versions = eventstore.current_versions(
        db.conn, db.tenant_id, [f"triage-{event.data['ticket_id']}" for event, _ in made]
    )
    for event, suggestion in made:
        ticket_id = event.data["ticket_id"]
        stream_id = f"triage-{ticket_id}"
        suggested = Envelope.new(
            f"{db.service}.triage_suggested",
            db.tenant_id,
            stream_id,
            schema.load(suggestion_event_data(ticket_id, suggestion)),
            actor=system_actor("ai"),
            correlation_id=event.correlation_id,
            causation_id=event.event_id,
        )
        db.append(stream_id, versions[stream_id], [suggested])
