"""What each reader of a request sees: the subject a plain account of it, officers its workings."""

import uuid
from datetime import datetime

from services.privacy import store
from services.privacy.downloads import downloads_of
from services.privacy.requests import OFFICER_ROLES, load_saga
from shared.auth import require_roles
from shared.errors import BadRequest
from shared.web import decode_cursor, page

# Fixed texts of our own code: safe to show the subject. Anything else (a hold's reason, a
# participant's exception text) stays with the officers.
SAFE_REASONS = frozenset({"requester may not act for this subject", "subject erased"})
ON_LEGAL_HOLD = "on legal hold"
NOT_CARRIED_OUT = "the request could not be carried out"
DELAYED = "a service has not finished its part yet; it is tried again automatically"
_SUBJECT_FIELDS = (
    "type",
    "status",
    "subject_id",
    "requested_at",
    "deadline",
    "completed_at",
    "key_shredded_at",
    "expires_at",
)


def filed_by(saga) -> str:
    """Who filed the request, as the subject is told: themself, a privacy officer or an admin."""
    if saga.requested_by == saga.subject_id:
        return "you"
    roles = set(saga.requester_roles)
    return (
        "privacy_officer"
        if "privacy_officer" in roles
        else ("admin" if "admin" in roles else "other")
    )


def officer_view(saga, receipts, downloads) -> dict:
    """Each participant's step, attempts, errors and receipts, and who downloaded the export."""
    view = saga.status_view()
    view["id"] = view.pop("request_id")
    view["filed_by"] = {"user_id": saga.requested_by, "roles": list(saga.requester_roles)}
    for participant in view["participants"]:
        participant["receipt"] = receipts.get(participant["name"])
    if saga.KIND == "export":
        view["downloads"] = downloads
    return view


def subject_view(saga, downloads) -> dict:
    """The subject's own account: status, times and who acted, never internal texts."""
    data = saga.to_dict()
    view = {
        "id": saga.request_id,
        **{k: data[k] for k in _SUBJECT_FIELDS if k in data},
        "filed_by": filed_by(saga),
        "on_legal_hold": saga.status == "blocked",
    }
    if saga.status == "blocked":
        view["note"] = ON_LEGAL_HOLD
    elif saga.status == "rejected":
        view["note"] = saga.reason if saga.reason in SAFE_REASONS else NOT_CARRIED_OUT
    elif saga.active and any(p.failures for p in saga.participants.values() if p.step != "done"):
        view["note"] = DELAYED
    view["participants"] = [
        {"name": p.name, "step": p.step, "done_at": data["participants"][p.name]["done_at"]}
        for p in saga.participants.values()
    ]
    if saga.KIND == "export":
        view["downloads"] = [
            {"at": d["at"], "by": "you" if d["by_subject"] else d["role"]} for d in downloads
        ]
    return view


def view_for(principal, saga, receipts, downloads) -> dict:
    """The subject always gets their own account, even when they are an officer themself."""
    if principal.user_id != saga.subject_id and principal.has_any(*OFFICER_ROLES):
        return officer_view(saga, receipts, downloads)
    return subject_view(saga, downloads)


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


def requests_page(conn, config, principal, subject_id, limit, request):
    """One page of the requests about the subject, oldest first, each in the reader's view."""
    rows = store.requests_about(conn, subject_id, limit + 1, _after(request, principal.tenant_id))
    body = page(rows, limit, lambda row: [row[1], row[2]], request, principal.tenant_id)
    sagas = [load_saga(row[0], config) for row in body["items"]]
    downloads = downloads_of(conn, [saga.request_id for saga in sagas])
    body["items"] = [
        view_for(principal, saga, store.receipts(conn, saga.request_id), downloads[saga.request_id])
        for saga in sagas
    ]
    return body
