"""Privacy's own part in a subject's rights: shred their key and copies, export what it holds."""

from services.privacy import store
from services.privacy.keyring import Keyring
from shared import eventstore
from shared.envelope import Envelope

SHREDDED = "privacy.subject_key_shredded"
_REQUEST_FIELDS = ("request_id", "type", "status", "requested_at", "deadline", "completed_at")


def shred_subject(conn, master_keys, tenant_id, subject_id, actor, correlation_id=None):
    """Destroy the key and delete the subject's export bundles; True when the key was live.

    The announcement goes through the outbox: every service drops its cached copy of the key,
    and the audit log keeps it as the record a restored privacy database is checked against.
    """
    shredded = Keyring(conn, master_keys).shred(tenant_id, subject_id)
    if shredded:
        stream = f"subject-{subject_id}"
        envelope = Envelope.new(
            SHREDDED,
            tenant_id,
            stream,
            {"subject_id": subject_id},
            actor=actor,
            correlation_id=correlation_id,
        )
        eventstore.append_next(conn, stream, [envelope])
    store.delete_exports(conn, store.subject_export_ids(conn, subject_id))
    return shredded


def export_subject(conn, subject_id):
    """Privacy's own part of the subject's export: their requests, acceptances and holds."""
    requests = [
        {k: saga.get(k) for k in _REQUEST_FIELDS}
        for saga in store.subject_requests(conn, subject_id)
    ]
    return {
        "requests": requests,
        "policy_acceptances": store.subject_acceptances(conn, subject_id),
        "legal_holds": store.subject_holds(conn, subject_id),
    }
