"""Filing a data-subject request in the caller's transaction: authority, duplicates, sealed changes."""

import uuid
from datetime import UTC, datetime

from services.privacy import exports, store
from services.privacy.exceptions import NotAuthorised, SubjectNotFound
from services.privacy.keyring import Keyring
from services.privacy.requests import load_saga, may_act_for, start_saga
from shared.crypto import FieldCipher


def submit(unit, config, master_keys, tenant_id, user_id, roles, kind, subject_id, changes=None):
    """(saga, created?) for a request; a running request of the same kind is returned instead."""
    conn = unit.begin(tenant_id)
    if not may_act_for(user_id, roles, subject_id):
        raise NotAuthorised("only the subject, a privacy officer or an admin may file this request")
    if user_id != subject_id and not store.subject_known(conn, subject_id):
        # a subject of another tenant (or none at all) has no key in this tenant's keyring
        raise SubjectNotFound("no such data subject in your organization")
    existing = store.active_request(conn, kind, subject_id)
    if existing:
        return load_saga(existing, config), False
    now = datetime.now(UTC)
    saga = start_saga(kind, str(uuid.uuid4()), tenant_id, subject_id, user_id, roles, now, config)
    pii = export_key = None
    if kind == "rectification":
        cipher = FieldCipher(Keyring(conn, master_keys))
        pii = cipher.seal(
            tenant_id, {field: (subject_id, value) for field, value in changes.items()}
        )
    if kind == "export":
        export_key = exports.new_request_key(master_keys, tenant_id, saga.request_id)
    if not store.insert_request(conn, saga, now, pii, export_key):
        # an identical request committed first; ON CONFLICT waited for it, so it is visible
        return load_saga(store.active_request(conn, kind, subject_id), config), False
    submitted = unit.new_event(
        "request_submitted",
        f"request-{saga.request_id}",
        {
            "request_id": saga.request_id,
            "type": kind,
            "subject_id": subject_id,
            "deadline": saga.deadline.isoformat(),
            "fields": sorted(changes or {}),
        },
        actor={"user_id": user_id, "roles": sorted(roles)},
    )
    unit.append(submitted.stream_id, 0, [submitted])
    return saga, True


def accepted(saga):
    """The 202 body: enough to poll the request."""
    return {
        "id": saga.request_id,
        "type": saga.KIND,
        "subject_id": saga.subject_id,
        "status": saga.status,
        "deadline": saga.deadline.isoformat(),
    }
