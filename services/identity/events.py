"""Identity's event types: each data field's class, and the personal fields sealed in `pii`."""

from marshmallow import fields

from services.identity.domain import ROLES, SERVICE_ACCOUNT_ROLES
from shared.classified import Digest, EventData, Id, Public, Slug, Slugs, Timestamp, register

P = "identity."
DEVICE = ("user_agent", "ip_address")
PROVIDERS = ("google", "microsoft")


class TenantCreated(EventData):
    tenant_id = Id()
    kind = Slug("personal", "organization")
    # the organization's own name from its provider (a Workspace domain) or a fixed text
    name = Public()
    provider = Slug(*PROVIDERS)


class UserJoined(EventData):
    user_id = Id()
    roles = Slugs(*sorted(ROLES))
    provider = Slug(*PROVIDERS)


class MemberRolesChanged(EventData):
    user_id = Id()
    roles, previous_roles = Slugs(*sorted(ROLES)), Slugs(*sorted(ROLES))


class MemberErased(EventData):
    user_id, request_id = Id(), Id()


class SignedIn(EventData):
    user_id, session_id = Id(), Id()
    provider = Slug(*PROVIDERS)
    method = Slug()


class SessionRefreshed(EventData):
    user_id, session_id = Id(), Id()


class SessionRevoked(EventData):
    user_id, session_id = Id(), Id()
    reason = Slug()


class ProfileRectified(EventData):
    user_id = Id()
    changed = Slugs("name", "email", data_key="fields")


class SigningKeysRotated(EventData):
    current, next = Digest(), Digest()
    published = fields.List(Digest(allow_none=False))


class ServiceAccountCreated(EventData):
    service_account_id, secret_id = Id(), Id()
    # a label an admin gives a program ("CI importer"), no person's data: shown to the tenant
    name = Public()
    roles = Slugs(*sorted(SERVICE_ACCOUNT_ROLES))
    expires_at = Timestamp()


class _SecretExpiry(EventData):
    secret_id = Id()
    expires_at = Timestamp()


class ServiceAccountSecretAdded(EventData):
    service_account_id, secret_id = Id(), Id()
    expires_at = Timestamp()
    shortened = fields.List(fields.Nested(_SecretExpiry))


class ServiceAccountRevoked(EventData):
    service_account_id = Id()


register(P + "tenant_created", TenantCreated)
register(P + "user_joined", UserJoined, pii=("name", "email", "account_key"))
register(P + "member_roles_changed", MemberRolesChanged)
register(P + "member_erased", MemberErased)
register(P + "user_signed_in", SignedIn, pii=DEVICE)
register(P + "session_refreshed", SessionRefreshed, pii=DEVICE)
register(P + "session_revoked", SessionRevoked)
register(P + "user_profile_rectified", ProfileRectified, pii=("name", "email"))
register(P + "signing_keys_rotated", SigningKeysRotated)
register(P + "service_account_created", ServiceAccountCreated)
register(P + "service_account_secret_added", ServiceAccountSecretAdded)
register(P + "service_account_revoked", ServiceAccountRevoked)
