"""The identity service: nameko entrypoints only; the work lives in application and subjects."""

from nameko.timer import timer
from werkzeug.wrappers import Response

from services.identity import application, service_accounts, sessions, store, subjects
from services.identity import events as _catalogue  # noqa: F401 (declares identity's event types)
from services.identity.client_auth import client_credentials, oauth_error
from services.identity.cookies import (
    NO_STORE,
    browser_signed_in_response,
    clear_login_state,
    clear_session_cookie,
    login_redirect,
    refresh_token_of,
    reuse_detected,
    signed_in_response,
    started_here,
)
from services.identity.dependencies import SignIn
from services.identity.exceptions import (
    InvalidRefreshToken,
    NotADataSubject,
    OAuthError,
    SignInRejected,
    SignInUnavailable,
)
from services.identity.federation import InvalidIdToken
from services.identity.schemas import (
    AccessTokenSchema,
    CallbackSchema,
    ClientCredentialsSchema,
    IdTokenSchema,
    NewCredentialsSchema,
    RefreshSchema,
    RolesSchema,
    RotateSchema,
    ServiceAccountSchema,
    ServiceAccountViewSchema,
    account_body,
    tokens_body,
)
from services.identity.settings import IdentitySettings
from shared.auth import require_roles
from shared.db import Database
from shared.envelope import PLATFORM_TENANT, utcnow
from shared.keys import SubjectKeys
from shared.rpc import PRIVACY, ServiceRpc, rpc
from shared.service import DZDeskService
from shared.settings import Settings
from shared.web import (
    PageQuery,
    decode_cursor,
    etag,
    http,
    json_body,
    json_response,
    page,
    page_limit,
    problem_from_exception,
    required_if_match,
    time_and_id,
)


def _verified(verify, *args):
    try:
        return verify(*args)
    except InvalidIdToken as exc:
        raise SignInRejected(exc.reason) from exc


def _client_ip(request, trusted_proxies) -> str | None:
    """The caller's address: the gateway's own X-Forwarded-For entry when the peer is the gateway.

    The gateway appends the address it saw to whatever the client sent, so only the last
    entry is the gateway's word; earlier ones are whatever the client chose to claim.
    """
    peer = request.remote_addr
    if peer in trusted_proxies:
        hops = [
            hop.strip()
            for hop in request.headers.get("X-Forwarded-For", "").split(",")
            if hop.strip()
        ]
        if hops:
            return hops[-1]
    return peer


def _optional_body(request, schema):
    # a browser refreshing with its cookie may send no body at all
    if not request.get_data(cache=True):
        return schema.load({})
    return json_body(request, schema)


class IdentityService(DZDeskService):
    name = "identity"

    # The platform unit of work: the sign-in directory, key ring and Microsoft sign-ins in
    # flight, which are needed before (or regardless of) the tenant being known.
    directory = Database()
    cipher = SubjectKeys()
    settings = Settings(IdentitySettings)
    sign_in_kit = SignIn()
    privacy = ServiceRpc("privacy")

    def context(self):
        return application.Context(
            self.db, self.directory, self.cipher, self.sign_in_kit.vault, self.settings, utcnow()
        )

    def _device(self, request) -> dict:
        return {
            "user_agent": request.headers.get("User-Agent"),
            "ip_address": _client_ip(request, self.settings.trusted_proxies),
        }

    def _signed_in(self, signed_in, browser=False):
        respond = browser_signed_in_response if browser else signed_in_response
        body = tokens_body(signed_in, browser=browser)
        return respond(body, signed_in.refresh_token, self.settings.refresh_token_ttl)

    def _sign_in(self, request, ext, method):
        signed_in = application.sign_in(self.context(), ext, self._device(request), method)
        return self._signed_in(signed_in)

    # --- sign-in -------------------------------------------------------------------------------
    @http("POST", "/v1/auth/google", body=IdTokenSchema)
    def sign_in_with_google(self, request):
        id_token = json_body(request, IdTokenSchema())["id_token"]
        return self._sign_in(
            request, _verified(self.sign_in_kit.google.verify, id_token), "google_id_token"
        )

    @http("POST", "/v1/auth/microsoft", body=IdTokenSchema)
    def sign_in_with_microsoft(self, request):
        id_token = json_body(request, IdTokenSchema())["id_token"]
        return self._sign_in(
            request, _verified(self.sign_in_kit.microsoft.verify, id_token), "microsoft_id_token"
        )

    @http("GET", "/v1/auth/microsoft/login", responses={302: None})
    def start_microsoft_sign_in(self, request):
        try:
            authorize_url, flow = self.sign_in_kit.microsoft_flow.start()
        except InvalidIdToken as exc:
            raise SignInUnavailable(exc.reason) from exc
        sessions.save_flow(self.directory.begin(PLATFORM_TENANT), flow)
        return login_redirect(authorize_url, flow["state"], self.settings.login_flow_ttl)

    @http("GET", "/v1/auth/microsoft/callback")
    def finish_microsoft_sign_in(self, request):
        query = request.args.to_dict()
        state = CallbackSchema().load(query)["state"]
        if not started_here(request, state):
            # before any database work: a foreign state consumes nothing and writes nothing
            return clear_login_state(
                problem_from_exception(
                    SignInRejected("this sign-in was not started in this browser")
                )
            )
        ctx = self.context()
        flow = sessions.take_flow(
            self.directory.begin(PLATFORM_TENANT), state, ctx.now, self.settings.login_flow_period
        )
        try:
            if flow is None:
                raise SignInRejected("unknown or expired sign-in state")
            ext = _verified(self.sign_in_kit.microsoft_flow.finish, flow, query)
        except SignInRejected as exc:
            # answered, not raised: the consumed state must stay consumed
            return clear_login_state(problem_from_exception(exc))
        signed_in = application.sign_in(ctx, ext, self._device(request), "microsoft_code")
        return self._signed_in(signed_in, browser=True)

    # --- own tokens ----------------------------------------------------------------------------
    @http("POST", "/v1/auth/refresh", body=RefreshSchema)
    def refresh_tokens(self, request):
        token = refresh_token_of(request, _optional_body(request, RefreshSchema())["refresh_token"])
        if not token:
            raise InvalidRefreshToken("send a refresh token or the session cookie")
        refreshed = application.refresh(self.context(), token, self._device(request))
        if refreshed is None:
            return reuse_detected()
        return self._signed_in(refreshed)

    @http("POST", "/v1/auth/logout", responses={204: None})
    def sign_out(self, request):
        token = refresh_token_of(request, _optional_body(request, RefreshSchema())["refresh_token"])
        if token:
            application.sign_out(self.context(), token)
        return clear_session_cookie(Response(status=204, headers=NO_STORE))

    @http(
        "POST",
        "/v1/auth/token",
        body=ClientCredentialsSchema,
        responses={200: AccessTokenSchema},
    )
    def issue_token(self, request):
        """OAuth 2.0 client credentials (RFC 6749 section 4.4) for a service account."""
        try:
            client_id, client_secret = client_credentials(request)
            granted = service_accounts.grant(self.context(), client_id, client_secret)
        except OAuthError as exc:
            return oauth_error(exc)
        return json_response(AccessTokenSchema().dump(granted), headers=NO_STORE)

    @http("GET", "/v1/auth/jwks")
    def published_keys(self, request):
        return json_response(
            application.published_keys(self.context()),
            headers={"Cache-Control": "public, max-age=300"},
        )

    # --- the caller and the tenant -------------------------------------------------------------
    @http("GET", "/v1/me")
    def me(self, request):
        ctx = self.context()
        return application.me(ctx, application.principal(ctx, request))

    @http("DELETE", "/v1/me")
    def erase_me(self, request):
        """Ask for the erasure of one's own personal data; the privacy service carries it out."""
        ctx = self.context()
        caller = application.principal(ctx, request)
        if caller.is_service_account:
            raise NotADataSubject("a service account holds no personal data to erase")
        application.check_erasable(ctx, caller)
        accepted = self.privacy.request_erasure(
            caller.tenant_id, caller.user_id, caller.user_id, sorted(caller.roles)
        )
        return json_response(
            accepted, status=202, headers={"Location": f"/v1/privacy/requests/{accepted['id']}"}
        )

    @http("GET", "/v1/tenant")
    def tenant(self, request):
        ctx = self.context()
        found = application.tenant(ctx, application.principal(ctx, request))
        return json_response(found, headers={"ETag": etag(found["version"])})

    @http("GET", "/v1/tenant/members", query=(PageQuery,))
    def tenant_members(self, request):
        ctx = self.context()
        caller = application.principal(ctx, request)
        require_roles(caller, "admin")
        limit, after = page_limit(request), decode_cursor(request, caller.tenant_id, time_and_id)
        found = store.list_users(ctx.db.begin(caller.tenant_id), limit + 1, after)
        body = page(
            found,
            limit,
            lambda user: [user["joined_at"].isoformat(), user["id"]],
            request,
            caller.tenant_id,
        )
        body["items"] = [store.public_user(user) for user in body["items"]]
        return body

    @http("PUT", "/v1/tenant/members/<user_id>/roles", body=RolesSchema)
    def change_member_roles(self, request, user_id):
        ctx = self.context()
        caller = application.principal(ctx, request)
        require_roles(caller, "admin")
        roles = json_body(request, RolesSchema())["roles"]
        expected = required_if_match(request) if request.headers.get("If-Match") else None
        member, version = application.change_roles(ctx, caller, user_id, roles, expected)
        return json_response(member, headers={"ETag": etag(version)})

    # --- service accounts ------------------------------------------------------------------------
    def _admin(self, request):
        ctx = self.context()
        caller = application.principal(ctx, request)
        require_roles(caller, "admin")
        return ctx, caller

    @http(
        "POST",
        "/v1/tenant/service-accounts",
        body=ServiceAccountSchema,
        responses={201: NewCredentialsSchema},
    )
    def create_service_account(self, request):
        """Create a service account; its client secret is shown in this answer only."""
        ctx, caller = self._admin(request)
        body = json_body(request, ServiceAccountSchema())
        account, secret = service_accounts.create(
            ctx, caller, body["name"], body["roles"], body["expires_in"]
        )
        location = f"/v1/tenant/service-accounts/{account['id']}"
        return json_response(
            account_body(account, secret),
            status=201,
            headers={**NO_STORE, "Location": location},
        )

    @http("GET", "/v1/tenant/service-accounts", query=(PageQuery,))
    def list_service_accounts(self, request):
        ctx, caller = self._admin(request)
        limit, after = page_limit(request), decode_cursor(request, caller.tenant_id, time_and_id)
        found = service_accounts.listed(ctx, caller, limit + 1, after)
        body = page(
            found,
            limit,
            lambda account: [account["created_at"].isoformat(), account["id"]],
            request,
            caller.tenant_id,
        )
        body["items"] = [account_body(account) for account in body["items"]]
        return body

    @http(
        "GET",
        "/v1/tenant/service-accounts/<account_id>",
        responses={200: ServiceAccountViewSchema},
    )
    def show_service_account(self, request, account_id):
        ctx, caller = self._admin(request)
        return account_body(service_accounts.show(ctx, caller, account_id))

    @http(
        "POST",
        "/v1/tenant/service-accounts/<account_id>/secrets",
        body=RotateSchema,
        responses={201: NewCredentialsSchema},
    )
    def rotate_service_account_secret(self, request, account_id):
        """Add a second live secret; the current one expires soon after (rotation)."""
        ctx, caller = self._admin(request)
        body = _optional_body(request, RotateSchema())
        account, secret = service_accounts.rotate(
            ctx, caller, account_id, body["expires_in"], body["previous_expires_in"]
        )
        return json_response(account_body(account, secret), status=201, headers=NO_STORE)

    @http("DELETE", "/v1/tenant/service-accounts/<account_id>", responses={204: None})
    def revoke_service_account(self, request, account_id):
        """Revoke a service account: no secret of it gets a token any more."""
        ctx, caller = self._admin(request)
        service_accounts.revoke(ctx, caller, account_id)
        return Response(status=204)

    # --- RPC for other services ----------------------------------------------------------------
    @rpc(callers={"ai", "ticketing"})
    def get_users(self, tenant_id, user_ids):
        """[{id, name, email, roles}] of those users that belong to the tenant."""
        return subjects.users_of(self.context(), tenant_id, list(user_ids))

    @rpc(callers={"ai", "ticketing"})
    def list_users(self, tenant_id):
        return subjects.users_of(self.context(), tenant_id)

    @rpc(callers=PRIVACY)
    def export_subject(self, tenant_id, subject_id):
        return subjects.export_subject(self.context(), tenant_id, subject_id)

    @rpc(callers=PRIVACY)
    def purge_subject(self, tenant_id, subject_id, request_id):
        return subjects.purge_subject(self.context(), tenant_id, subject_id, request_id)

    @rpc(callers=PRIVACY)
    def rectify_subject(self, tenant_id, subject_id, changes):
        return subjects.rectify_subject(self.context(), tenant_id, subject_id, changes)

    @rpc(callers={"identity"})
    def rotate_signing_keys(self):
        """Rotate now (next -> current -> retired); returns the published kids."""
        return application.rotate_signing_keys(self.context())

    @timer(interval=300)
    def rotate_signing_keys_when_due(self):
        application.rotate_signing_keys(self.context(), due_after=self.settings.rotation_interval)
