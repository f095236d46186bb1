"""Privacy's application: filing and reading requests, export downloads, legal holds, shredding.

Each function runs in the caller's unit of work (`ctx.db`): it checks authority, changes the
tables and appends the events in one transaction.
"""

import uuid
from datetime import datetime

from marshmallow import ValidationError

from services.privacy import exports, store
from services.privacy.exceptions import (
    ExportExpired,
    ExportNotReady,
    HoldNotFound,
    NotADataSubject,
    NotAuthorised,
    RequestNotFound,
    SubjectNotFound,
)
from services.privacy.keyring import Keyring
from services.privacy.sagas.kinds import OFFICER_ROLES, load_saga, start_saga
from services.privacy.schemas import DownloadQuerySchema, view_for
from shared.auth import is_service_account_id, require_roles
from shared.crypto import FieldCipher
from shared.envelope import actor_of, person_actor, utcnow
from shared.errors import BadRequest
from shared.web import decode_cursor, page

# The subject downloads their own bundle; another person only as a privacy officer who says
# why. An admin filing an export for a member does not make the admin its reader.
DOWNLOADER_ROLE = "privacy_officer"
DOWNLOADED = "export_downloaded"


def may_act_for(user_id: str, roles, subject_id: str) -> bool:
    """The subject themself, or a privacy officer or admin of the same tenant."""
    return user_id == subject_id or bool(OFFICER_ROLES & set(roles))


def id_of(value, error=RequestNotFound):
    """A request's or hold's id as a UUID string; anything else names nothing (404)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise error("no such request") from None


# --- filing a request ---------------------------------------------------------------------


def submit(unit, settings, master_keys, tenant_id, user_id, roles, kind, subject_id, changes=None):
    """(saga, created?) for a request; a running request of the same kind is returned instead."""
    if is_service_account_id(subject_id) or is_service_account_id(user_id):
        raise NotADataSubject("a service account holds no personal data and is no data subject")
    conn = unit.begin(tenant_id)
    if not may_act_for(user_id, roles, subject_id):
        raise NotAuthorised("only the subject, a privacy officer or an admin may file this request")
    if user_id != subject_id and not store.subject_known(conn, subject_id):
        # a subject of another tenant (or none at all) has no key in this tenant's keyring
        raise SubjectNotFound("no such data subject in your organization")
    existing = store.active_request(conn, kind, subject_id)
    if existing:
        return load_saga(existing, settings), False
    now = utcnow()
    saga = start_saga(kind, str(uuid.uuid4()), tenant_id, subject_id, user_id, roles, now, settings)
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
        return load_saga(store.active_request(conn, kind, subject_id), settings), False
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
        actor=person_actor(user_id, roles),
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


# --- reading requests ---------------------------------------------------------------------


def visible_saga(conn, settings, principal, request_id, lock=None):
    """(saga, wrapped export key) of a request the principal may see; 404 otherwise."""
    loaded = store.load_request(conn, id_of(request_id), lock=lock)
    if loaded is None:
        raise RequestNotFound("no such request")
    saga = load_saga(loaded[0], settings)
    allowed = principal.user_id in (saga.requested_by, saga.subject_id) or principal.has_any(
        *OFFICER_ROLES
    )
    if not allowed:
        raise RequestNotFound("no such request")
    return saga, loaded[2]


def show_request(conn, settings, principal, request_id):
    saga = visible_saga(conn, settings, principal, request_id)[0]
    return view_for(
        principal,
        saga,
        store.receipts(conn, saga.request_id),
        downloads_of(conn, [saga.request_id])[saga.request_id],
    )


def listed_subject(principal, subject):
    """The subject a listing is about: `me`, or (officers only) anyone named."""
    if not subject or len(subject) > 200:
        raise BadRequest("name the subject: ?subject=me", field="subject")
    subject_id = principal.user_id if subject == "me" else subject
    if subject_id != principal.user_id:
        require_roles(principal, *OFFICER_ROLES)
    return subject_id


def _valid_position(position):
    try:
        created, request_id = position
        datetime.fromisoformat(created), uuid.UUID(request_id)
        return True
    except (TypeError, ValueError):
        return False


def _after(request, tenant_id):
    position = decode_cursor(request, tenant_id, valid=_valid_position)
    if position is None:
        return None
    created, request_id = position
    return datetime.fromisoformat(created), str(uuid.UUID(request_id))


def requests_page(conn, settings, principal, subject_id, limit, request):
    """One page of the requests about the subject, oldest first, each in the reader's view."""
    rows = store.requests_about(conn, subject_id, limit + 1, _after(request, principal.tenant_id))
    body = page(rows, limit, lambda row: [row[1], row[2]], request, principal.tenant_id)
    sagas = [load_saga(row[0], settings) for row in body["items"]]
    downloads = downloads_of(conn, [saga.request_id for saga in sagas])
    body["items"] = [
        view_for(principal, saga, store.receipts(conn, saga.request_id), downloads[saga.request_id])
        for saga in sagas
    ]
    return body


# --- downloading an export ----------------------------------------------------------------


def reason_for(principal, saga, args) -> str | None:
    """None for the subject; the officer's stated reason; otherwise 403, or 400 without a reason."""
    if principal.user_id == saga.subject_id:
        return None
    if not principal.has_any(DOWNLOADER_ROLE):
        raise NotAuthorised(
            "only the subject, or a privacy officer stating a reason, may download an export"
        )
    reason = (DownloadQuerySchema().load(args).get("reason") or "").strip()
    if not reason:
        raise ValidationError(
            {"reason": ["a privacy officer must state why they download another person's export"]}
        )
    return reason


def download_export(unit, settings, master_keys, reconciler, principal, request_id, args):
    """(saga, zip bytes) of a ready export the principal may read; the download is an event."""
    conn = unit.begin(principal.tenant_id)
    # locked: the download's event joins the request's stream after the saga's own
    saga, wrapped = visible_saga(conn, settings, principal, request_id, lock="wait")
    if saga.KIND != "export":
        raise RequestNotFound("this request has no export")
    reason = reason_for(principal, saga, args)
    reconciler.require_reconciled()
    bundle = store.load_bundle(conn, saga.request_id)
    if saga.status == "expired" or (
        saga.status == "ready" and (bundle is None or bundle[1] <= utcnow())
    ):
        raise ExportExpired("this export has expired; file a new export request")
    if saga.status != "ready":
        raise ExportNotReady(f"the export is {saga.status}, not ready yet")
    key = exports.request_key(master_keys, saga.tenant_id, saga.request_id, wrapped)
    content = exports.open_bundle(key, saga.request_id, bundle[0])
    record_download(unit, master_keys, saga, principal, reason)
    return saga, content


def record_download(unit, master_keys, saga, principal, reason):
    """The `privacy.export_downloaded` event, in the transaction that hands the bundle out.

    The reason is free text about the subject: sealed under the subject's key, like any
    personal field, so it goes with their erasure; who and when stay readable for the audit.
    """
    by_subject = reason is None
    pii = None
    if not by_subject:
        pii = FieldCipher(Keyring(unit.conn, master_keys)).seal(
            saga.tenant_id, {"reason": (saga.subject_id, reason)}
        )
    event = unit.new_event(
        DOWNLOADED,
        f"request-{saga.request_id}",
        {
            "request_id": saga.request_id,
            "type": saga.KIND,
            "subject_id": saga.subject_id,
            "downloaded_by": principal.user_id,
            "by_subject": by_subject,
            "role": "subject" if by_subject else DOWNLOADER_ROLE,
        },
        actor=actor_of(principal),
        pii=pii,
    )
    unit.append_next(event.stream_id, [event])


def downloads_of(conn, request_ids) -> dict:
    """{request id: [{at, downloaded_by, by_subject, role}]} read back from the events."""
    found = {str(request_id): [] for request_id in request_ids}
    for envelope in store.events_of(conn, [f"request-{i}" for i in found], f"privacy.{DOWNLOADED}"):
        data = envelope["data"]
        found[data["request_id"]].append(
            {
                "at": envelope["occurred_at"],
                "downloaded_by": data["downloaded_by"],
                "by_subject": data["by_subject"],
                "role": data["role"],
            }
        )
    return found


# --- legal holds and shredding ------------------------------------------------------------


def place_hold(unit, principal, body):
    """The 201 body of a new legal hold on a subject (the entrypoint admits officers only)."""
    unit.begin(principal.tenant_id)
    hold_id = str(uuid.uuid4())
    placed_at = store.place_hold(
        unit.conn, hold_id, body["subject_id"], body["reason"], principal.user_id
    )
    placed = unit.new_event(
        "legal_hold_placed",
        f"hold-{hold_id}",
        {"hold_id": hold_id, "subject_id": body["subject_id"]},
        actor=actor_of(principal),
    )
    unit.append(placed.stream_id, 0, [placed])
    return {"id": hold_id, **body, "placed_at": placed_at.isoformat()}


def release_hold(unit, principal, hold_id):
    """End an active legal hold (the entrypoint admits officers only)."""
    conn = unit.begin(principal.tenant_id)
    subject_id = store.release_hold(conn, id_of(hold_id), principal.user_id)
    if subject_id is None:
        raise HoldNotFound("no such active legal hold")
    released = unit.new_event(
        "legal_hold_released",
        f"hold-{hold_id}",
        {"hold_id": hold_id, "subject_id": subject_id},
        actor=actor_of(principal),
    )
    unit.append_next(released.stream_id, [released])


def shred_subject_key(unit, master_keys, tenant_id, subject_id, actor):
    """Crypto-shred a subject's key at another service's word; False when already gone."""
    if not Keyring(unit.begin(tenant_id), master_keys).shred(tenant_id, subject_id):
        return False
    shredded = unit.new_event(
        "subject_key_shredded", f"subject-{subject_id}", {"subject_id": subject_id}, actor=actor
    )
    unit.append_next(shredded.stream_id, [shredded])
    return True
