"""Sign-in federation: verifying Google and Microsoft ID tokens, running Microsoft's code flow."""

import hmac
import json
import threading
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import google.auth.exceptions
import google.auth.transport
import google.oauth2.id_token
import jwt
import msal
import requests

from shared.auth import KeySetCache
from shared.errors import HttpError

GOOGLE_ISSUERS = frozenset({"accounts.google.com", "https://accounts.google.com"})
MICROSOFT_ISSUER_TEMPLATE = "https://login.microsoftonline.com/{tid}/v2.0"
# Entra's tenant for personal Microsoft accounts (outlook.com, hotmail.com, ...).
MICROSOFT_CONSUMER_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"
MSAL_RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access"})


class InvalidIdToken(Exception):
    """An ID token or sign-in response failed a check; ``reason`` is safe to show to the caller."""

    status = 401

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ExternalIdentity:
    """A verified external account. ``account_key`` identifies it; the email never does."""

    provider: str
    account_key: tuple
    org_key: str | None
    org_name: str | None
    email: str | None
    name: str | None
    personal: bool


def _unverified_header(id_token: str) -> dict:
    try:
        return jwt.get_unverified_header(id_token)
    except jwt.PyJWTError as exc:
        raise InvalidIdToken("malformed id token") from exc


def google_key_ids(document: dict) -> set:
    # Google serves either {kid: x509 PEM} (v1) or a JWK Set (v3); google-auth accepts both.
    if isinstance(document.get("keys"), list):
        return {key.get("kid") for key in document["keys"] if isinstance(key, dict)}
    return set(document)


class _CertsResponse(google.auth.transport.Response):
    def __init__(self, document: dict):
        self._data = json.dumps(document).encode("utf-8")

    @property
    def status(self) -> int:
        return 200

    @property
    def headers(self) -> dict:
        return {"content-type": "application/json"}

    @property
    def data(self) -> bytes:
        return self._data


class _CachedCertsRequest(google.auth.transport.Request):
    """Hands google-auth the certs our cache already holds, so a sign-in costs no round trip."""

    def __init__(self, certs: KeySetCache, kid: str | None):
        self._certs = certs
        self._kid = kid

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        return _CertsResponse(self._certs.document(self._kid))


class GoogleVerifier:
    """Verifies Google ID tokens with google-auth against Google's certs."""

    def __init__(
        self,
        client_ids,
        certs_url: str,
        *,
        clock_skew_seconds: int = 30,
        certs: KeySetCache | None = None,
    ):
        self.client_ids = list(client_ids)
        self.certs_url = certs_url
        self._skew = clock_skew_seconds
        self._certs = certs or KeySetCache(certs_url, kids=google_key_ids)

    def verify(self, id_token: str) -> ExternalIdentity:
        header = _unverified_header(id_token)
        if header.get("alg") != "RS256":
            raise InvalidIdToken("unsupported id token algorithm")
        if not self.client_ids:
            raise InvalidIdToken("no google client is configured")
        try:
            request = _CachedCertsRequest(self._certs, header.get("kid"))
            claims = google.oauth2.id_token.verify_token(
                id_token,
                request,
                audience=self.client_ids,
                certs_url=self.certs_url,
                clock_skew_in_seconds=self._skew,
            )
        except (
            google.auth.exceptions.GoogleAuthError,
            jwt.PyJWTError,
            HttpError,
            ValueError,
        ) as exc:
            raise InvalidIdToken("google id token rejected") from exc
        if claims.get("iss") not in GOOGLE_ISSUERS:
            raise InvalidIdToken("google id token has a foreign issuer")
        if claims.get("email_verified") not in (True, "true"):
            raise InvalidIdToken("google account email is not verified")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise InvalidIdToken("google id token has no subject")
        hd = claims.get("hd") or None
        return ExternalIdentity(
            provider="google",
            account_key=("google", claims["sub"]),
            org_key=f"google:{hd}" if hd else None,
            org_name=hd,
            email=claims.get("email"),
            name=claims.get("name"),
            personal=hd is None,
        )


class MicrosoftVerifier:
    """Verifies Entra ID (v2.0) ID tokens with pyjwt against Microsoft's JWKS, any tenant."""

    def __init__(
        self,
        client_id: str,
        jwks_url: str,
        issuer_template: str = MICROSOFT_ISSUER_TEMPLATE,
        allowed_tenants=None,
        *,
        leeway: float = 30.0,
        keys: KeySetCache | None = None,
    ):
        self.client_id = client_id
        self.issuer_template = issuer_template
        self.allowed_tenants = frozenset(allowed_tenants) if allowed_tenants is not None else None
        self.leeway = leeway
        self._keys = keys or KeySetCache(jwks_url)

    def verify(self, id_token: str, nonce: str | None = None) -> ExternalIdentity:
        header = _unverified_header(id_token)
        if header.get("alg") != "RS256":
            raise InvalidIdToken("unsupported id token algorithm")
        try:
            key = jwt.PyJWK(self._keys.jwk(str(header.get("kid"))), algorithm="RS256")
        except (LookupError, HttpError, jwt.PyJWTError) as exc:
            raise InvalidIdToken("unknown signing key") from exc
        tid = _tenant_of(id_token)
        try:
            claims = jwt.decode(
                id_token,
                key.key,
                algorithms=["RS256"],
                audience=self.client_id,
                issuer=self.issuer_template.format(tid=tid),
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "tid", "oid"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidIdToken("microsoft id token rejected: " + _failed_check(exc)) from exc
        if claims["tid"] != tid:
            raise InvalidIdToken("microsoft id token tenant mismatch")
        if self.allowed_tenants is not None and tid not in self.allowed_tenants:
            raise InvalidIdToken("microsoft tenant is not allowed")
        if nonce is not None and not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise InvalidIdToken("microsoft id token nonce mismatch")
        personal = tid == MICROSOFT_CONSUMER_TENANT
        return ExternalIdentity(
            provider="microsoft",
            account_key=("microsoft", tid, str(claims["oid"])),
            org_key=None if personal else f"microsoft:{tid}",
            org_name=None,
            email=claims.get("email") or claims.get("preferred_username"),
            name=claims.get("name"),
            personal=personal,
        )


def _failed_check(exc: jwt.PyJWTError) -> str:
    for failure, check in (
        (jwt.InvalidSignatureError, "signature"),
        (jwt.ExpiredSignatureError, "expired"),
        (jwt.InvalidAudienceError, "audience"),
        (jwt.InvalidIssuerError, "issuer"),
        (jwt.MissingRequiredClaimError, "missing claim"),
    ):
        if isinstance(exc, failure):
            return check
    return "invalid"


def _tenant_of(id_token: str) -> str:
    # The expected issuer embeds the token's own tid, so it is read before the signature check
    # and the decoded claims are then required to carry the very same tid.
    try:
        tid = jwt.decode(id_token, options={"verify_signature": False}).get("tid")
        if not isinstance(tid, str) or str(uuid.UUID(tid)) != tid.lower():
            raise ValueError("tid is not a tenant id")
    except (jwt.PyJWTError, ValueError) as exc:
        raise InvalidIdToken("microsoft id token has no valid tenant") from exc
    return tid


class _NoTokenCache(msal.TokenCache):
    # DZDesk only needs the sign-in; keeping every user's Microsoft tokens in a process-wide
    # cache would hoard credentials we never use.
    def add(self, event, now=None):
        pass


class MicrosoftAuthCodeFlow:
    """The server-side authorization-code flow with msal; the ID token is then verified by us."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        authority: str,
        redirect_uri: str,
        scopes,
        verifier: MicrosoftVerifier,
    ):
        self.client_id = client_id
        self.authority = authority
        self.redirect_uri = redirect_uri
        self.scopes = [scope for scope in scopes if scope not in MSAL_RESERVED_SCOPES]
        self._client_secret = client_secret
        self._verifier = verifier
        self._app = None
        self._lock = threading.Lock()

    def _application(self) -> msal.ConfidentialClientApplication:
        # Built on first use, not in __init__: msal fetches the authority's discovery document.
        with self._lock:
            if self._app is None:
                try:
                    self._app = msal.ConfidentialClientApplication(
                        self.client_id,
                        client_credential=self._client_secret,
                        authority=self.authority,
                        instance_discovery=False,
                        token_cache=_NoTokenCache(),
                    )
                except (ValueError, requests.RequestException) as exc:
                    raise InvalidIdToken("microsoft sign-in is unavailable") from exc
            return self._app

    def start(self) -> tuple[str, dict]:
        """The URL to send the browser to, and the flow to keep server-side under
        ``flow["state"]``."""
        flow = self._application().initiate_auth_code_flow(
            scopes=self.scopes, redirect_uri=self.redirect_uri
        )
        return flow["auth_uri"], flow

    def finish(self, flow: dict, query_params: dict) -> ExternalIdentity:
        """Redeem the code from the redirect back to us; every failure is InvalidIdToken."""
        try:
            sent_nonce = parse_qs(urlsplit(flow["auth_uri"]).query)["nonce"][0]
            result = self._application().acquire_token_by_auth_code_flow(
                dict(flow), dict(query_params), scopes=self.scopes or None
            )
        except (
            KeyError,
            IndexError,
            TypeError,
            ValueError,
            RuntimeError,
            requests.RequestException,
        ) as exc:
            raise InvalidIdToken("microsoft sign-in response rejected") from exc
        if "error" in result or "id_token" not in result:
            raise InvalidIdToken("microsoft did not accept the authorization code")
        return self._verifier.verify(result["id_token"], nonce=sent_nonce)
