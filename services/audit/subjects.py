"""Audit as a privacy participant: its log holds ciphertext, unreadable once a key is shredded."""

from services.audit import store


def purge_subject(request_id):
    """Nothing to purge: entries are immutable and their personal fields are ciphertext
    under the subject's key, which the erasure has already shredded."""
    return {
        "service": "audit",
        "request_id": request_id,
        "purged": {},
        "note": "immutable log of ciphertext; unreadable after key shredding",
    }


def export_subject(conn, subject_id):
    """The actions the log records the subject performing (metadata, in seq order)."""
    return {
        "service": "audit",
        "subject_id": str(subject_id),
        "actions": store.entries_by_actor(conn, subject_id),
    }
