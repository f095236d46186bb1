"""Marshmallow schemas of identity's HTTP bodies, RPC payloads and token responses."""

from datetime import timedelta

from marshmallow import EXCLUDE, Schema, fields, post_load, validate

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


# --- service accounts ------------------------------------------------------------------------

_DAY = 86400


def _seconds(minimum, maximum, **kwargs):
    return fields.Integer(validate=validate.Range(min=minimum, max=maximum), **kwargs)


class ServiceAccountSchema(Schema):
    """A new service account. Roles are checked by the domain (admin and privacy_officer
    cannot be given: 422); `expires_in` is its first secret's lifetime in seconds."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    roles = fields.List(
        fields.String(validate=validate.Length(min=1, max=40)),
        required=True,
        validate=validate.Length(min=1, max=len(ROLES)),
    )
    expires_in = _seconds(60, 2 * 365 * _DAY, load_default=None)

    @post_load
    def durations(self, values, **kwargs):
        return _as_durations(values)


class RotateSchema(Schema):
    """A new secret (`expires_in` seconds) alongside the live one, which stays live
    `previous_expires_in` seconds more at most (default 7 days)."""

    expires_in = _seconds(60, 2 * 365 * _DAY, load_default=None)
    previous_expires_in = _seconds(0, 30 * _DAY, load_default=None)

    @post_load
    def durations(self, values, **kwargs):
        return _as_durations(values)


def _as_durations(values):
    return {
        key: timedelta(seconds=value) if key.endswith("expires_in") and value is not None else value
        for key, value in values.items()
    }


class _SecretSchema(Schema):
    id = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime()


class ServiceAccountViewSchema(Schema):
    """A service account as the API shows it: never a secret, nor a secret's hash."""

    id = fields.String()
    client_id = fields.String()
    name = fields.String()
    roles = fields.List(fields.String())
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)
    secrets = fields.List(fields.Nested(_SecretSchema))


class NewCredentialsSchema(ServiceAccountViewSchema):
    """The answer to a creation or a rotation: the account and its new secret, shown once."""

    client_secret = fields.String()


def account_body(account: dict, secret: str | None = None) -> dict:
    if secret is None:
        return ServiceAccountViewSchema().dump(account)
    return NewCredentialsSchema().dump({**account, "client_secret": secret})


class ClientCredentialsSchema(Schema):
    """RFC 6749 section 4.4.2, form-encoded: the client authenticates by HTTP Basic or with
    client_id and client_secret here (not both)."""

    content_type = "application/x-www-form-urlencoded"

    class Meta:
        unknown = EXCLUDE

    grant_type = fields.String(required=True, validate=validate.Equal("client_credentials"))
    client_id = fields.String(validate=validate.Length(max=200))
    client_secret = fields.String(validate=validate.Length(max=200))
    scope = fields.String(validate=validate.Length(max=500))


class AccessTokenSchema(Schema):
    """RFC 6749 section 5.1; no refresh token for client credentials (section 4.4.3)."""

    access_token = fields.String()
    token_type = fields.Constant("Bearer")
    expires_in = fields.Integer()
    scope = fields.String()
