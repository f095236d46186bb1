"""A local fake Google / Microsoft identity provider for tests: real keys, real HTTP(S), real protocols."""

import base64
import datetime
import hashlib
import hmac
import ipaddress
import json
import os
import secrets
import ssl
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

GOOGLE_ISSUER = "https://accounts.google.com"
MICROSOFT_ISSUER_TEMPLATE = "https://login.microsoftonline.com/{tid}/v2.0"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _compact(header: dict, claims: dict, sign) -> str:
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    return signing_input + "." + _b64url(sign(signing_input.encode("ascii")))


def _certificate(subject_key, common_name, issuer_cert=None, issuer_key=None, *, ca=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(issuer_key or subject_key, hashes.SHA256())


@dataclass(frozen=True)
class ProviderKey:
    """An RSA signing key of the fake provider, published under ``kid``."""

    kid: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> "ProviderKey":
        return cls(secrets.token_hex(8), rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @property
    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwk(self) -> dict:
        jwk = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def certificate_pem(self) -> str:
        cert = _certificate(self.private_key, "fake-google-" + self.kid)
        return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def sign(self, claims: dict, kid: str | None = None) -> str:
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": kid or self.kid})


@dataclass
class MicrosoftUser:
    """Who signs in at the fake Microsoft authorize endpoint."""

    tid: str
    oid: str
    email: str
    name: str


class FakeOidcProvider:
    """Google certs, Microsoft discovery/JWKS/authorize/token, over HTTP and HTTPS on 127.0.0.1."""

    def __init__(self, *, google_client_id=None, microsoft_client_id=None, microsoft_client_secret=None,
                 keys: tuple[ProviderKey, ProviderKey, ProviderKey] | None = None):
        """``keys`` (google, microsoft, rogue) lets a test session reuse RSA keys: generating is slow."""
        self.google_client_id = google_client_id or f"{secrets.token_hex(6)}.apps.googleusercontent.com"
        self.microsoft_client_id = microsoft_client_id or str(uuid.uuid4())
        self.microsoft_client_secret = microsoft_client_secret or secrets.token_urlsafe(24)
        google_key, microsoft_key, self.rogue_key = keys or tuple(ProviderKey.generate() for _ in range(3))
        self.google_keys, self.microsoft_keys = [google_key], [microsoft_key]
        self.microsoft_user = MicrosoftUser(str(uuid.uuid4()), str(uuid.uuid4()), "user@example.test", "User")
        self.hits: dict[str, int] = {}
        self._documents: dict[str, object] = {}
        self._codes: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._servers: list[ThreadingHTTPServer] = []
        self._tmp = None

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> "FakeOidcProvider":
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-oidc-")
        self.ca_bundle_path = self._write_tls_material()
        self._http = self._serve(None)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._server_cert_path, self._server_key_path)
        self._https = self._serve(context)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "FakeOidcProvider":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _serve(self, tls_context) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.provider = self
        if tls_context is not None:
            server.socket = tls_context.wrap_socket(server.socket, server_side=True)
        scheme = "https" if tls_context else "http"
        server.base_url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self._servers.append(server)
        return server

    def _write_tls_material(self) -> str:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _certificate(ca_key, "fake-oidc-ca", ca=True)
        server_key = ec.generate_private_key(ec.SECP256R1())
        server_cert = _certificate(server_key, "127.0.0.1", ca_cert, ca_key)
        paths = {name: os.path.join(self._tmp.name, name) for name in ("ca.pem", "cert.pem", "key.pem")}
        with open(paths["ca.pem"], "wb") as out:
            out.write(ca_cert.public_bytes(serialization.Encoding.PEM))
        with open(paths["cert.pem"], "wb") as out:
            out.write(server_cert.public_bytes(serialization.Encoding.PEM))
        with open(paths["key.pem"], "wb") as out:
            out.write(server_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ))
        self._server_cert_path, self._server_key_path = paths["cert.pem"], paths["key.pem"]
        return paths["ca.pem"]

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
        """Serve ``document`` (or the result of calling it) at ``path`` over HTTP; returns the URL."""
        self._documents[path] = document
        return self.http_url + path

    # --- keys and minting ------------------------------------------------------------------
    def rotate_microsoft_key(self) -> ProviderKey:
        self.microsoft_keys.append(ProviderKey.generate())
        return self.microsoft_keys[-1]

    def google_claims(self, sub, email, hd=None, email_verified=True, aud=None, iss=GOOGLE_ISSUER,
                      exp_delta=3600, **claims) -> dict:
        now = int(time.time())
        body = {"iss": iss, "azp": aud or self.google_client_id, "aud": aud or self.google_client_id,
                "sub": sub, "email": email, "email_verified": email_verified, "iat": now,
                "exp": now + exp_delta}
        if hd is not None:
            body["hd"] = hd
        return {**body, **claims}

    def mint_google(self, sub, email, hd=None, email_verified=True, aud=None, iss=GOOGLE_ISSUER,
                    exp_delta=3600, kid=None, **claims) -> str:
        body = self.google_claims(sub, email, hd, email_verified, aud, iss, exp_delta, **claims)
        return self.google_keys[-1].sign(body, kid)

    def microsoft_claims(self, tid, oid, email, name, aud=None, iss=None, exp_delta=3600,
                         nonce=None, **claims) -> dict:
        now = int(time.time())
        aud = aud or self.microsoft_client_id
        body = {"ver": "2.0", "iss": iss or MICROSOFT_ISSUER_TEMPLATE.format(tid=tid), "aud": aud,
                "sub": _b64url(hashlib.sha256(f"{oid}:{aud}".encode()).digest()), "tid": tid,
                "oid": oid, "email": email, "preferred_username": email, "name": name,
                "iat": now, "nbf": now, "exp": now + exp_delta}
        if nonce is not None:
            body["nonce"] = nonce
        return {**body, **claims}

    def mint_microsoft(self, tid, oid, email, name, aud=None, iss=None, exp_delta=3600, kid=None,
                       nonce=None, **claims) -> str:
        body = self.microsoft_claims(tid, oid, email, name, aud, iss, exp_delta, nonce, **claims)
        return self.microsoft_keys[-1].sign(body, kid)

    # --- adversarial tokens ----------------------------------------------------------------
    def forge_with_unknown_key(self, claims: dict, kid: str) -> str:
        """Signed by a key the provider never published, under a kid it did publish."""
        return self.rogue_key.sign(claims, kid)

    def forge_with_unknown_kid(self, claims: dict) -> str:
        return self.rogue_key.sign(claims, "unknown-" + secrets.token_hex(6))

    @staticmethod
    def forge_unsigned(claims: dict, kid: str) -> str:
        return _compact({"alg": "none", "typ": "JWT", "kid": kid}, claims, lambda _: b"")

    @staticmethod
    def forge_hs256_with_public_key(claims: dict, key: ProviderKey) -> str:
        """The classic algorithm confusion: HMAC keyed with the provider's public key PEM."""
        return _compact({"alg": "HS256", "typ": "JWT", "kid": key.kid}, claims,
                        lambda data: hmac.new(key.public_pem, data, hashlib.sha256).digest())

    # --- authorization-code grant ----------------------------------------------------------
    def _authorize(self, query: dict) -> tuple[int, dict, dict]:
        if query.get("client_id") != self.microsoft_client_id or query.get("response_type") != "code":
            return 400, {}, {"error": "unauthorized_client"}
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = {**query, "user": self.microsoft_user}
        params = {"code": code, "state": query.get("state", "")}
        if query.get("client_info"):
            user = self.microsoft_user
            params["client_info"] = _b64url(json.dumps({"uid": user.oid, "utid": user.tid}).encode())
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
        id_token = self.mint_microsoft(user.tid, user.oid, user.email, user.name, nonce=grant.get("nonce"))
        return 200, {}, {"token_type": "Bearer", "scope": grant.get("scope", ""), "expires_in": 3600,
                         "access_token": secrets.token_urlsafe(32), "id_token": id_token,
                         "client_info": _b64url(json.dumps({"uid": user.oid, "utid": user.tid}).encode())}

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


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def _reply(self, status: int, headers: dict, body) -> None:
        payload = json.dumps(body).encode() if body or status != 302 else b""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        provider, url = self.server.provider, urlsplit(self.path)
        with provider._lock:
            provider.hits[url.path] = provider.hits.get(url.path, 0) + 1
        query = {name: values[0] for name, values in parse_qs(url.query).items()}
        segments = url.path.strip("/").split("/")
        if url.path in provider._documents:
            document = provider._documents[url.path]
            self._reply(200, {}, document() if callable(document) else document)
        elif url.path == "/oauth2/v1/certs":
            self._reply(200, {"Cache-Control": "public, max-age=3600"},
                        {key.kid: key.certificate_pem() for key in provider.google_keys})
        elif url.path == "/oauth2/v3/certs":
            self._reply(200, {}, {"keys": [key.jwk() for key in provider.google_keys]})
        elif segments[1:] == ["discovery", "v2.0", "keys"]:
            self._reply(200, {}, {"keys": [key.jwk() for key in provider.microsoft_keys]})
        elif segments[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            self._reply(200, {}, provider._discovery(self.server.base_url, segments[0]))
        elif segments[1:] == ["oauth2", "v2.0", "authorize"]:
            self._reply(*provider._authorize(query))
        else:
            self._reply(404, {}, {"error": "not_found"})

    def do_POST(self) -> None:
        provider, url = self.server.provider, urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        form = {name: values[0] for name, values in parse_qs(body).items()}
        if url.path.strip("/").split("/")[1:] == ["oauth2", "v2.0", "token"]:
            self._reply(*provider._token(form, self.headers.get("Authorization")))
        else:
            self._reply(404, {}, {"error": "not_found"})


def main() -> None:
    """`python -m tests.support.fake_oidc`: a provider for `make run`, with env to export and sample tokens."""
    provider = FakeOidcProvider().start()
    hd, tid = "acme.example", str(uuid.uuid4())
    print("# export these before `make run`, then POST the tokens below to /v1/auth/google|microsoft")
    for name, value in {
        "GOOGLE_CLIENT_IDS": provider.google_client_id, "GOOGLE_CERTS_URL": provider.google_certs_url,
        "MICROSOFT_CLIENT_ID": provider.microsoft_client_id,
        "MICROSOFT_CLIENT_SECRET": provider.microsoft_client_secret,
        "MICROSOFT_JWKS_URL": provider.microsoft_jwks_url,
        "MICROSOFT_AUTHORITY": provider.microsoft_authority("organizations"),
        "REQUESTS_CA_BUNDLE": provider.ca_bundle_path,
    }.items():
        print(f"export {name}='{value}'")
    print("# google admin:", provider.mint_google(uuid.uuid4().hex, f"admin@{hd}", hd=hd, exp_delta=86400))
    print("# google requester:", provider.mint_google(uuid.uuid4().hex, f"user@{hd}", hd=hd, exp_delta=86400))
    print("# microsoft admin:", provider.mint_microsoft(tid, str(uuid.uuid4()), "ana@contoso.example", "Ana",
                                                       exp_delta=86400), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        provider.stop()


if __name__ == "__main__":
    main()
