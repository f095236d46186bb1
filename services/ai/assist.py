"""What the ai endpoints answer: triage and similar tickets from a tenant model, threads to summarize, subject exports."""

from services.ai import store
from services.ai.ingest import is_person_field
from services.ai.learning import ticket_text
from services.ai.summary import Thread
from shared.crypto import ERASED


def _open(cipher, tenant_id, field, sealed):
    return cipher.open_value(tenant_id, field, sealed) if sealed else ""


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


def export(conn, cipher, tenant_id, subject_id):
    """Everything ai holds about the subject, decrypted (ERASED where their key is gone)."""
    requested, resolved, written, named = store.subject_data(conn, subject_id)
    return {
        "tickets": [
            {
                "ticket_id": t["ticket_id"],
                "title": _open(cipher, tenant_id, "title", t["title"]),
                "description": _open(cipher, tenant_id, "description", t["description"]),
                "category": t["category"],
                "priority": t["priority"],
            }
            for t in requested
        ],
        "resolutions": [
            {
                "ticket_id": t["ticket_id"],
                "text": _open(cipher, tenant_id, "note", t["resolution"]),
            }
            for t in resolved
        ],
        "comments": [
            {
                "comment_id": c["comment_id"],
                "internal": c["internal"],
                "body": cipher.open_value(tenant_id, "body", c["body"]),
            }
            for c in written
        ],
        "people": {
            field: cipher.open_value(tenant_id, field, sealed)
            for field, sealed in named.items()
            if is_person_field(field)
        },
    }
