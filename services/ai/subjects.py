"""The ai service as a privacy participant: export and purge everything it holds about one
subject (tickets, resolutions, comments, names), and the models' memory of them."""

from services.ai import store
from services.ai.projections import is_person_field


def _open(cipher, tenant_id, field, sealed):
    return cipher.open_value(tenant_id, field, sealed) if sealed else ""


def purge(db, cipher, models, tenant_id, subject_id, request_id):
    """Forget the subject's key here, delete their text, record the erasure for every instance
    and drop their tickets from this process's model; counts per kind."""
    cipher.forget(tenant_id, subject_id)
    conn = db.begin(tenant_id)
    purged = store.purge_subject(conn, str(tenant_id), subject_id, request_id)
    purged["model_tickets"] = len(models.forget(tenant_id, subject_id))
    return purged


def export(db, cipher, tenant_id, subject_id):
    """Everything ai holds about the subject, decrypted (ERASED where their key is gone)."""
    conn = db.begin(tenant_id)
    tenant_id = str(tenant_id)
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
