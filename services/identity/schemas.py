"""Marshmallow schemas of identity's HTTP bodies and RPC payloads."""

from marshmallow import EXCLUDE, Schema, fields, validate

from services.identity.domain import ROLES


class IdTokenSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id_token = fields.String(required=True, validate=validate.Length(min=1, max=16384))


class RefreshSchema(Schema):
    """The refresh token comes in the body (API clients) or the session cookie (browsers)."""

    class Meta:
        unknown = EXCLUDE

    refresh_token = fields.String(load_default=None, validate=validate.Length(min=1, max=512))


class RolesSchema(Schema):
    roles = fields.List(
        fields.String(validate=validate.OneOf(sorted(ROLES))),
        required=True,
        validate=validate.Length(min=1, max=len(ROLES)),
    )


class RectifySchema(Schema):
    """The personal fields identity stores that a subject may have corrected."""

    class Meta:
        unknown = EXCLUDE

    name = fields.String(validate=validate.Length(min=1, max=200))
    email = fields.Email(validate=validate.Length(max=320))


class CallbackSchema(Schema):
    """The query Microsoft redirects back with (code and state, or an error)."""

    class Meta:
        unknown = EXCLUDE

    state = fields.String(required=True, validate=validate.Length(min=1, max=512))
    code = fields.String(validate=validate.Length(max=4096))
    error = fields.String(validate=validate.Length(max=200))
    client_info = fields.String(validate=validate.Length(max=4096))
    session_state = fields.String(validate=validate.Length(max=512))
