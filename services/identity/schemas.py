"""Marshmallow schemas of identity's HTTP bodies, RPC payloads and token responses."""

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


class _UserSchema(Schema):
    id = fields.String()
    name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    roles = fields.List(fields.String())


class _TenantSchema(Schema):
    id = fields.String()
    name = fields.String()


class TokensSchema(Schema):
    """What a sign-in or a refresh answers (dumped from application.SignedIn); a browser
    finishing the code flow gets it without the refresh token, which only its cookie holds."""

    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.Constant("Bearer")
    expires_in = fields.Integer()
    user = fields.Nested(_UserSchema)
    tenant = fields.Nested(_TenantSchema)


def tokens_body(signed_in, *, browser=False) -> dict:
    schema = TokensSchema(exclude=("refresh_token",)) if browser else TokensSchema()
    return schema.dump(signed_in)
