"""Who may download an export bundle, and the audit event every download leaves behind."""

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from services.privacy import store
from services.privacy.exceptions import NotAuthorised
from services.privacy.keyring import Keyring
from shared.crypto import FieldCipher

# The subject downloads their own bundle; another person only as a privacy officer who says
# why. An admin filing an export for a member does not make the admin its reader.
DOWNLOADER_ROLE = "privacy_officer"
DOWNLOADED = "export_downloaded"


class DownloadQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    reason = fields.String(
        validate=validate.Length(min=1, max=500),
        metadata={
            "description": "why a privacy officer downloads another person's export (required for them)"
        },
    )


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


def record(unit, master_keys, saga, principal, actor, reason):
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
    stream = f"request-{saga.request_id}"
    event = unit.new_event(
        DOWNLOADED,
        stream,
        {
            "request_id": saga.request_id,
            "type": saga.KIND,
            "subject_id": saga.subject_id,
            "downloaded_by": principal.user_id,
            "by_subject": by_subject,
            "role": "subject" if by_subject else DOWNLOADER_ROLE,
        },
        actor=actor,
        pii=pii,
    )
    unit.append(stream, unit.version(stream), [event])


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
