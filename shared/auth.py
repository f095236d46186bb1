"""Access-token verification and role checks used by every service (plus a nameko provider)."""

import collections
import hashlib
import os
import threading
import time
import uuid
from dataclasses import dataclass

import jwt
import requests
from nameko.extensions import DependencyProvider

from shared.errors import DependencyUnavailable, Forbidden, Unauthorized

ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "tenant_id", "roles"]


# the one error hierarchy is shared.errors: a bad token is its Unauthorized, a missing role its
# Forbidden, and keys that cannot be fetched are a dependency outage (503, retried by handlers)


class KeysUnavailable(DependencyUnavailable):
    """The signing keys could not be fetched: a retryable outage, not a bad token."""


# Who a token is for: a person (the default) or a service account (a program of the tenant,
# client credentials). A service account's token says so in its `kind` claim.
PERSON, SERVICE_ACCOUNT = "person", "service_account"
KINDS = frozenset({PERSON, SERVICE_ACCOUNT})
# Service-account ids are RFC 9562 UUIDv8 whose first two bytes are this marker, so any service
# tells one from a person's id (a UUIDv4) without asking identity: privacy refuses them as data
# subjects, and nobody's erasure can be pointed at a program.
_ACCOUNT_MARKER = b"\xd2\x5a"


def new_service_account_id() -> str:
    raw = bytearray(_ACCOUNT_MARKER + os.urandom(14))
    raw[6] = 0x80 | (raw[6] & 0x0F)  # version 8
    raw[8] = 0x80 | (raw[8] & 0x3F)  # the RFC 9562 variant
    return str(uuid.UUID(bytes=bytes(raw)))


def is_service_account_id(value) -> bool:
    try:
        parsed = uuid.UUID(str(value))
    except ValueError:
        return False
    return parsed.version == 8 and parsed.bytes[:2] == _ACCOUNT_MARKER


@dataclass(frozen=True)
class Principal:
    """The caller of a token: `user_id` is its subject, a person's or a service account's id."""

    user_id: str
    tenant_id: str
    roles: frozenset
    kind: str = PERSON

    def has_any(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)

    @property
    def is_service_account(self) -> bool:
        return self.kind == SERVICE_ACCOUNT


def require_roles(principal: Principal, *roles: str) -> None:
    """Allow the call when the principal holds at least one of ``roles``."""
    if not principal.has_any(*roles):
        raise Forbidden("this action requires one of the roles: " + ", ".join(sorted(roles)))


def _jwks_kids(document: dict) -> set:
    return {key.get("kid") for key in document.get("keys", []) if isinstance(key, dict)}


class KeySetCache:
    """A published key set fetched over HTTP, kept for ``max_age`` seconds.

    An unknown kid triggers a refetch (keys are rotated in ahead of use), but at most once per
    ``min_refetch_interval`` so tokens carrying random kids cannot make us hammer the publisher.
    When a refetch fails the last good key set keeps serving: an outage of the publisher should
    not log everyone out.
    """

    def __init__(
        self,
        url: str,
        *,
        session: requests.Session | None = None,
        timeout: float = 5.0,
        max_age: float = 300.0,
        min_refetch_interval: float = 30.0,
        clock=time.monotonic,
        kids=_jwks_kids,
    ):
        self.url = url
        self._session = session or requests.Session()
        self._timeout = timeout
        self._max_age = max_age
        self._min_refetch_interval = min_refetch_interval
        self._clock = clock
        self._kids = kids
        self._lock = threading.Lock()
        self._document: dict | None = None
        self._fetched_at = float("-inf")
        self._attempted_at = float("-inf")

    def document(self, kid: str | None = None) -> dict:
        """The key set, refreshed if stale or (rate-limited) if it lacks ``kid``."""
        with self._lock:
            now = self._clock()
            stale = now - self._fetched_at >= self._max_age
            missing = (
                kid is not None
                and self._document is not None
                and kid not in self._kids(self._document)
            )
            may_retry = now - self._attempted_at >= self._min_refetch_interval
            if self._document is None or ((stale or missing) and may_retry):
                self._refresh(now)
            return self._document

    def _refresh(self, now: float) -> None:
        self._attempted_at = now
        try:
            response = self._session.get(self.url, timeout=self._timeout)
            response.raise_for_status()
            document = response.json()
            if not isinstance(document, dict):
                raise ValueError("key set is not a JSON object")
        except (requests.RequestException, ValueError) as exc:
            if self._document is None:
                raise KeysUnavailable("signing keys are unavailable") from exc
            return
        self._document, self._fetched_at = document, now

    def jwk(self, kid: str) -> dict:
        """The JWK published under ``kid``; LookupError when there is none."""
        for key in self.document(kid).get("keys", []):
            if isinstance(key, dict) and key.get("kid") == kid:
                return key
        raise LookupError(kid)

    def close(self) -> None:
        self._session.close()


class TokenVerifier:
    """Checks DZDesk access tokens (``typ: at+jwt``) against identity's published JWKS.

    A token that verified is remembered (by its SHA-256, at most ``cache_size`` of them) until
    its ``exp``, and only while the key it verified against is still published as it was: a
    client sends the same token with every request, and its signature check is most of the
    cost. A key rotated out of the set makes its remembered tokens verify again (and fail).
    ``keys`` is anything with ``jwk(kid)`` (LookupError when unknown) and ``close()``.
    """

    def __init__(
        self,
        jwks_url: str,
        issuer: str,
        audience: str,
        leeway: float = 30.0,
        *,
        algorithms=("EdDSA",),
        keys: KeySetCache | None = None,
        cache_size: int = 4096,
        clock=time.time,
    ):
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self._algorithms = frozenset(algorithms)
        self._keys = keys or KeySetCache(jwks_url)
        self._cache_size = cache_size
        self._clock = clock
        self._verified = collections.OrderedDict()
        self._lock = threading.Lock()

    def verify(self, token: str) -> Principal:
        digest = hashlib.sha256(token.encode()).digest()
        with self._lock:
            entry = self._verified.get(digest)
        if entry is not None and self._still_valid(*entry[1:]):
            with self._lock:
                if digest in self._verified:
                    self._verified.move_to_end(digest)
            return entry[0]
        principal, expires_at, kid, jwk = self._verify(token)
        with self._lock:
            self._verified[digest] = (principal, expires_at, kid, jwk)
            while len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        return principal

    def _still_valid(self, expires_at, kid, jwk) -> bool:
        if self._clock() >= expires_at:
            return False
        try:
            return self._keys.jwk(kid) == jwk
        except LookupError:
            return False

    def _verify(self, token: str):
        """(principal, exp, kid, the JWK it verified against) of a valid token."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("malformed access token") from exc
        if header.get("typ") not in ACCESS_TOKEN_TYPES:
            raise Unauthorized("not an access token")
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in self._algorithms:
            raise Unauthorized("unsupported token algorithm")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("access token has no key id")
        try:
            jwk = self._keys.jwk(kid)
            key = jwt.PyJWK(jwk)
        except (LookupError, jwt.PyJWTError) as exc:
            raise Unauthorized("unknown signing key") from exc
        # The published key decides the algorithm, so a header cannot pick a weaker one.
        if key.algorithm_name != algorithm:
            raise Unauthorized("token algorithm does not match its key")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("access token expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("invalid access token") from exc
        return _principal(claims), claims["exp"], kid, jwk

    def close(self) -> None:
        self._keys.close()


def _principal(claims: dict) -> Principal:
    roles, user_id, tenant_id = claims["roles"], claims["sub"], claims["tenant_id"]
    kind = claims.get("kind", PERSON)
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise Unauthorized("invalid roles claim")
    if not isinstance(user_id, str) or not isinstance(tenant_id, str):
        raise Unauthorized("invalid subject or tenant claim")
    if kind not in KINDS or (kind == SERVICE_ACCOUNT) != is_service_account_id(user_id):
        raise Unauthorized("invalid kind claim")
    return Principal(user_id=user_id, tenant_id=tenant_id, roles=frozenset(roles), kind=kind)


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    return token.strip()


class RequestAuthenticator:
    """What a worker gets: turns an HTTP request into the caller's Principal."""

    def __init__(self, verifier: TokenVerifier):
        self._verifier = verifier

    def principal(self, request) -> Principal:
        return self._verifier.verify(bearer_token(request.headers.get("Authorization")))


class Authenticator(DependencyProvider):
    """nameko dependency: ``self.auth.principal(request)`` inside HTTP entrypoints."""

    def setup(self) -> None:
        config = self.container.config
        self.verifier = TokenVerifier(
            config.get("IDENTITY_JWKS_URL", "http://localhost:8001/v1/auth/jwks"),
            issuer=config.get("TOKEN_ISSUER", "dzdesk-identity"),
            audience=config.get("TOKEN_AUDIENCE", "dzdesk"),
        )

    def stop(self) -> None:
        self.verifier.close()

    def get_dependency(self, worker_ctx) -> RequestAuthenticator:
        return RequestAuthenticator(self.verifier)
