"""Marshmallow schemas of privacy's HTTP bodies."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

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
    """GET /v1/privacy/requests: whose requests (read by views.listed_subject), for /openapi.json."""

    subject = fields.String(
        required=True,
        validate=SUBJECT_ID,
        metadata={"description": "`me`, or (officers) a subject id"},
    )
