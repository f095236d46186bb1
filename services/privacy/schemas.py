"""Privacy's API: marshmallow schemas of its bodies and queries, and what each reader of a request
sees (the subject a plain account of it, officers its workings)."""

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from services.privacy.sagas.kinds import OFFICER_ROLES
from shared.classified import UUID_PATTERN

REQUEST_TYPES = ("erasure", "export", "rectification")
# a data subject is a person of the tenant, named by id: no email or name travels in clear
SUBJECT_ID = validate.Regexp(UUID_PATTERN, error="must be a UUID")


class ChangesSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    email = fields.Email(validate=validate.Length(max=320))

    @validates_schema
    def something_to_change(self, data, **kwargs):
        if not data:
            raise ValidationError("give at least one of name, email")


class RequestSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(REQUEST_TYPES))
    subject_id = fields.String(required=True, validate=SUBJECT_ID)
    changes = fields.Nested(ChangesSchema)

    @validates_schema
    def changes_only_for_rectification(self, data, **kwargs):
        if data.get("type") == "rectification" and "changes" not in data:
            raise ValidationError("a rectification needs changes", "changes")
        if data.get("type") != "rectification" and "changes" in data:
            raise ValidationError("only a rectification carries changes", "changes")


class HoldSchema(Schema):
    subject_id = fields.String(required=True, validate=SUBJECT_ID)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class PolicySchema(Schema):
    version = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9._-]{1,40}$"))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    summary = fields.String(validate=validate.Length(max=4000))
    url = fields.URL(validate=validate.Length(max=2000))


class SubjectQuery(Schema):
    """GET /v1/privacy/requests: whose requests (read by application.listed_subject), for
    /openapi.json."""

    subject = fields.String(
        required=True,
        validate=SUBJECT_ID,
        metadata={"description": "`me`, or (officers) a subject id"},
    )


class DownloadQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    reason = fields.String(
        validate=validate.Length(min=1, max=500),
        metadata={
            "description": (
                "why a privacy officer downloads another person's export (required for them)"
            )
        },
    )


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
