"""Privacy's event types: each data field's class (ids, kinds and instants; no personal text)."""

from marshmallow import fields, validate

from shared.classified import (
    PUBLIC,
    Counts,
    Digest,
    EventData,
    Id,
    Public,
    Slug,
    Slugs,
    Timestamp,
    register,
)

P = "privacy."
KINDS = ("erasure", "export", "rectification")
REJECTIONS = ("requester may not act for this subject", "subject erased")


class Request(EventData):
    """What every event of a request's stream carries."""

    request_id = Id()
    type = Slug(*KINDS)


class RequestSubmitted(Request):
    subject_id = Id()
    deadline = Timestamp()
    changed = Slugs(data_key="fields")


class RequestRejected(Request):
    reason = Slug(*REJECTIONS)


class ErasureBlocked(Request):
    subject_id = Id()
    legal_holds = fields.Integer()


class RequestReminder(Request):
    days_left = fields.Integer()
    deadline = Timestamp()
    open_participants = Slugs()


class RequestEscalated(Request):
    reason = Slug()
    participants = Slugs()
    deadline = Timestamp()


class RequestCompleted(Request):
    subject_id = Id()
    participants = Slugs()
    completed_at = Timestamp()


class BundleFile(EventData):
    name = Slug()
    sha256 = Digest()


class ExportReady(Request):
    subject_id = Id()
    expires_at = Timestamp()
    files = fields.List(fields.Nested(BundleFile))


class PurgeConfirmed(Request):
    participant = Slug()
    attempt = fields.Integer()
    purged = Counts()


class RectificationConfirmed(Request):
    participant = Slug()
    attempt = fields.Integer()


class Subject(EventData):
    subject_id = Id()


class LegalHold(Subject):
    hold_id = Id()


class ExportDownloaded(Request):
    subject_id = Id()
    downloaded_by = Id()
    by_subject = fields.Boolean()
    role = Slug("subject", "privacy_officer")


class PolicyPublished(EventData):
    version = Slug()
    # the organization's own policy document, published to the whole tenant
    title, url = Public(), Public()
    # what the notice of a new version tells every user (as long as the API allows)
    summary = fields.String(
        allow_none=True, validate=validate.Length(max=4000), metadata={"class": PUBLIC}
    )
    published_at = Timestamp()


class PolicyAccepted(EventData):
    user_id = Id()
    version = Slug()


register(P + "request_submitted", RequestSubmitted)
register(P + "request_rejected", RequestRejected)
register(P + "erasure_blocked", ErasureBlocked)
register(P + "request_reminder", RequestReminder)
register(P + "request_escalated", RequestEscalated)
for kind in KINDS:
    register(P + f"{kind}_completed", RequestCompleted)
register(P + "export_ready", ExportReady)
register(P + "export_expired", Request)
register(P + "export_downloaded", ExportDownloaded, pii=("reason",))
register(P + "purge_confirmed", PurgeConfirmed)
register(P + "rectification_confirmed", RectificationConfirmed)
register(P + "subject_key_shredded", Subject)
register(P + "legal_hold_placed", LegalHold)
register(P + "legal_hold_released", LegalHold)
register(P + "policy_published", PolicyPublished)
register(P + "policy_accepted", PolicyAccepted)
