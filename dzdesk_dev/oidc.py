"""The development sign-in provider: Google's and Microsoft's protocols with real keys on 127.0.0.1.

`make run` starts it when no real Google or Microsoft client is configured; the tests start
one per test. Besides the two providers' own endpoints it mints ID tokens on request
(``POST /dev/id-tokens``), which is what makes it a development tool only: anyone who can
reach it can sign in as anyone.
"""

import base64
import hashlib
import hmac
import json
import secrets
import ssl
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from urllib.parse import unquote_plus, urlencode

from dzdesk_dev.endpoints import BadMintRequest, Handler
from dzdesk_dev.keys import ProviderKey, write_tls_material
from shared.environment import DEV_CLIENT_PREFIX, DEV_SIGN_IN_SETTING

GOOGLE_ISSUER = "https://accounts.google.com"
MICROSOFT_ISSUER_TEMPLATE = "https://login.microsoftonline.com/{tid}/v2.0"
DEFAULT_PORT = 8009  # `make run` serves the provider's HTTP side here; dzdesk-dev looks for it here


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass
class MicrosoftUser:
    """Who signs in at the provider's Microsoft authorize endpoint."""

    tid: str
    oid: str
    email: str
    name: str


class DevOidcProvider:
    """Google certs, Microsoft discovery/JWKS/authorize/token and a token mint, over HTTP(S) on
    127.0.0.1."""

    def __init__(
        self,
        *,
        google_client_id=None,
        microsoft_client_id=None,
        microsoft_client_secret=None,
        keys: tuple[ProviderKey, ProviderKey] | None = None,
        http_port: int = 0,
        https_port: int = 0,
    ):
        """``keys`` (google, microsoft) lets a test session reuse RSA keys: generating is slow."""
        # the prefix marks the client ids as development ones: production refuses them
        self.google_client_id = (
            google_client_id
            or f"{DEV_CLIENT_PREFIX}-{secrets.token_hex(6)}.apps.googleusercontent.com"
        )
        self.microsoft_client_id = microsoft_client_id or f"{DEV_CLIENT_PREFIX}-{uuid.uuid4()}"
        self.microsoft_client_secret = microsoft_client_secret or secrets.token_urlsafe(24)
        google_key, microsoft_key = keys or (ProviderKey.generate(), ProviderKey.generate())
        self.google_keys, self.microsoft_keys = [google_key], [microsoft_key]
        self.microsoft_user = MicrosoftUser(
            str(uuid.uuid4()), str(uuid.uuid4()), "user@example.test", "User"
        )
        self.hits: dict[str, int] = {}
        self._ports = (http_port, https_port)
        self._documents: dict[str, object] = {}
        self._codes: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._servers: list[ThreadingHTTPServer] = []
        self._tmp = None

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> "DevOidcProvider":
        self._tmp = tempfile.TemporaryDirectory(prefix="dzdesk-dev-oidc-")
        tls = write_tls_material(self._tmp.name)
        self.ca_bundle_path = tls["ca"]
        self._http = self._serve(None, self._ports[0])
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls["cert"], tls["key"])
        self._https = self._serve(context, self._ports[1])
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "DevOidcProvider":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _serve(self, tls_context, port: int) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        server.provider = self
        if tls_context is not None:
            server.socket = tls_context.wrap_socket(server.socket, server_side=True)
        scheme = "https" if tls_context else "http"
        server.base_url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self._servers.append(server)
        return server

    def settings(self, redirect_uri: str | None = None) -> dict:
        """The settings that point identity at this provider, as environment variables."""
        values = {
            DEV_SIGN_IN_SETTING: self.http_url,
            "GOOGLE_CLIENT_IDS": self.google_client_id,
            "GOOGLE_CERTS_URL": self.google_certs_url,
            "MICROSOFT_CLIENT_ID": self.microsoft_client_id,
            "MICROSOFT_CLIENT_SECRET": self.microsoft_client_secret,
            "MICROSOFT_JWKS_URL": self.microsoft_jwks_url,
            "MICROSOFT_AUTHORITY": self.microsoft_authority("organizations"),
        }
        if redirect_uri:
            values["MICROSOFT_REDIRECT_URI"] = redirect_uri
        return values

    # --- addresses -------------------------------------------------------------------------
    @property
    def http_url(self) -> str:
        return self._http.base_url

    @property
    def https_url(self) -> str:
        return self._https.base_url

    @property
    def google_certs_url(self) -> str:
        """Google's v1 format: {kid: x509 PEM}, the format google-auth's default URL serves."""
        return self.http_url + "/oauth2/v1/certs"

    @property
    def google_jwks_url(self) -> str:
        return self.http_url + "/oauth2/v3/certs"

    @property
    def microsoft_jwks_url(self) -> str:
        return self.http_url + "/common/discovery/v2.0/keys"

    def microsoft_authority(self, tenant: str = "organizations") -> str:
        return f"{self.https_url}/{tenant}"

    def serve_json(self, path: str, document) -> str:
        """Serve ``document`` (or the result of calling it) at ``path`` over HTTP;
        returns the URL."""
        self._documents[path] = document
        return self.http_url + path

    # --- keys and minting ------------------------------------------------------------------
    def rotate_microsoft_key(self) -> ProviderKey:
        self.microsoft_keys.append(ProviderKey.generate())
        return self.microsoft_keys[-1]

    def google_claims(
        self,
        sub,
        email,
        hd=None,
        email_verified=True,
        aud=None,
        iss=GOOGLE_ISSUER,
        exp_delta=3600,
        **claims,
    ) -> dict:
        now = int(time.time())
        body = {
            "iss": iss,
            "azp": aud or self.google_client_id,
            "aud": aud or self.google_client_id,
            "sub": sub,
            "email": email,
            "email_verified": email_verified,
            "iat": now,
            "exp": now + exp_delta,
        }
        if hd is not None:
            body["hd"] = hd
        return {**body, **claims}

    def mint_google(
        self,
        sub,
        email,
        hd=None,
        email_verified=True,
        aud=None,
        iss=GOOGLE_ISSUER,
        exp_delta=3600,
        kid=None,
        **claims,
    ) -> str:
        body = self.google_claims(sub, email, hd, email_verified, aud, iss, exp_delta, **claims)
        return self.google_keys[-1].sign(body, kid)

    def microsoft_claims(
        self, tid, oid, email, name, aud=None, iss=None, exp_delta=3600, nonce=None, **claims
    ) -> dict:
        now = int(time.time())
        aud = aud or self.microsoft_client_id
        body = {
            "ver": "2.0",
            "iss": iss or MICROSOFT_ISSUER_TEMPLATE.format(tid=tid),
            "aud": aud,
            "sub": _b64url(hashlib.sha256(f"{oid}:{aud}".encode()).digest()),
            "tid": tid,
            "oid": oid,
            "email": email,
            "preferred_username": email,
            "name": name,
            "iat": now,
            "nbf": now,
            "exp": now + exp_delta,
        }
        if nonce is not None:
            body["nonce"] = nonce
        return {**body, **claims}

    def mint_microsoft(
        self,
        tid,
        oid,
        email,
        name,
        aud=None,
        iss=None,
        exp_delta=3600,
        kid=None,
        nonce=None,
        **claims,
    ) -> str:
        body = self.microsoft_claims(tid, oid, email, name, aud, iss, exp_delta, nonce, **claims)
        return self.microsoft_keys[-1].sign(body, kid)

    # --- tokens on request ---------------------------------------------------------------
    def mint_on_request(self, body: dict) -> str:
        """An ID token for the account ``body`` names; the same email is the same account each time.

        ``{"provider": "google", "email", "name"?, "hd"?}`` or
        ``{"provider": "microsoft", "email", "name"?, "tenant"}`` (a tenant id, a UUID).
        """
        email = body.get("email")
        if not isinstance(email, str) or "@" not in email.strip("@"):
            raise BadMintRequest("email must be an address")
        email = email.strip().lower()
        name = body.get("name") or email.split("@")[0].replace(".", " ").title()
        if body.get("provider", "google") == "google":
            sub = str(
                int.from_bytes(hashlib.sha256(b"google:" + email.encode()).digest()[:8], "big")
            )
            return self.mint_google(sub, email, hd=body.get("hd") or None, name=name)
        if body.get("provider") == "microsoft":
            try:
                tid = str(uuid.UUID(str(body.get("tenant"))))
            except ValueError:
                raise BadMintRequest("tenant must be a Microsoft tenant id (a UUID)") from None
            oid = str(uuid.uuid5(uuid.UUID(tid), email))
            return self.mint_microsoft(tid, oid, email, name)
        raise BadMintRequest("provider must be google or microsoft")

    # --- authorization-code grant ----------------------------------------------------------
    def _authorize(self, query: dict) -> tuple[int, dict, dict]:
        if (
            query.get("client_id") != self.microsoft_client_id
            or query.get("response_type") != "code"
        ):
            return 400, {}, {"error": "unauthorized_client"}
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = {**query, "user": self.microsoft_user}
        params = {"code": code, "state": query.get("state", "")}
        if query.get("client_info"):
            user = self.microsoft_user
            params["client_info"] = _b64url(
                json.dumps({"uid": user.oid, "utid": user.tid}).encode()
            )
        separator = "&" if "?" in query["redirect_uri"] else "?"
        return 302, {"Location": query["redirect_uri"] + separator + urlencode(params)}, {}

    def _token(self, form: dict, authorization: str | None) -> tuple[int, dict, dict]:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.startswith("Basic "):
            client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
            client_id, secret = unquote_plus(client_id), unquote_plus(secret)
        if client_id != self.microsoft_client_id or secret != self.microsoft_client_secret:
            return 401, {}, {"error": "invalid_client"}
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)
        if form.get("grant_type") != "authorization_code" or grant is None:
            return 400, {}, {"error": "invalid_grant"}
        if form.get("redirect_uri") != grant["redirect_uri"] or not _pkce_ok(grant, form):
            return 400, {}, {"error": "invalid_grant"}
        user = grant["user"]
        id_token = self.mint_microsoft(
            user.tid, user.oid, user.email, user.name, nonce=grant.get("nonce")
        )
        return (
            200,
            {},
            {
                "token_type": "Bearer",
                "scope": grant.get("scope", ""),
                "expires_in": 3600,
                "access_token": secrets.token_urlsafe(32),
                "id_token": id_token,
                "client_info": _b64url(json.dumps({"uid": user.oid, "utid": user.tid}).encode()),
            },
        )

    def _discovery(self, base_url: str, tenant: str) -> dict:
        return {
            "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
            "authorization_endpoint": f"{base_url}/{tenant}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base_url}/{tenant}/oauth2/v2.0/token",
            "jwks_uri": f"{base_url}/{tenant}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "code id_token"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }


def _pkce_ok(grant: dict, form: dict) -> bool:
    challenge = grant.get("code_challenge")
    if not challenge:
        return True
    verifier = form.get("code_verifier", "")
    if grant.get("code_challenge_method", "plain") == "S256":
        verifier = _b64url(hashlib.sha256(verifier.encode("ascii")).digest())
    return hmac.compare_digest(verifier, challenge)
