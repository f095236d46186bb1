"""The provider's HTTP routes: Google's certs, Microsoft's discovery, JWKS, authorize and token, the
mint."""

import json
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

MINT_PATH = "/dev/id-tokens"


class BadMintRequest(ValueError):
    """A ``POST /dev/id-tokens`` body the provider cannot mint a token from."""


def _minted(provider, raw: str) -> tuple[int, dict, dict]:
    try:
        body = json.loads(raw or "{}")
    except ValueError:
        body = None
    try:
        if not isinstance(body, dict):
            raise BadMintRequest("the body must be a JSON object")
        return 200, {"Cache-Control": "no-store"}, {"id_token": provider.mint_on_request(body)}
    except BadMintRequest as exc:
        return 400, {}, {"error": "invalid_request", "error_description": str(exc)}


class Handler(BaseHTTPRequestHandler):
    """Routes a request to the provider the server carries (``server.provider``)."""

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
            self._reply(
                200,
                {"Cache-Control": "public, max-age=3600"},
                {key.kid: key.certificate_pem() for key in provider.google_keys},
            )
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
        if url.path == MINT_PATH:
            self._reply(*_minted(provider, body))
            return
        form = {name: values[0] for name, values in parse_qs(body).items()}
        if url.path.strip("/").split("/")[1:] == ["oauth2", "v2.0", "token"]:
            self._reply(*provider._token(form, self.headers.get("Authorization")))
        else:
            self._reply(404, {}, {"error": "not_found"})
