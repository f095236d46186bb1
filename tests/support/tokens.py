"""Access tokens for tests of services other than identity: a real key, a real JWKS over HTTP."""

import datetime
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from services.identity.tokens import CURRENT, SigningKey, jwks, mint_access_token

ISSUER, AUDIENCE = "dzdesk-identity", "dzdesk"


class TokenIssuer:
    """Signs access tokens as identity does and publishes the key set on 127.0.0.1."""

    def __init__(self):
        now = datetime.datetime.now(datetime.UTC)
        self.key = SigningKey.generate(now, state=CURRENT)
        document = json.dumps(jwks([self.key])).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(document)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.jwks_url = f"http://127.0.0.1:{self.server.server_port}/v1/auth/jwks"

    @property
    def config(self):
        return {
            "IDENTITY_JWKS_URL": self.jwks_url,
            "TOKEN_ISSUER": ISSUER,
            "TOKEN_AUDIENCE": AUDIENCE,
        }

    def token(self, tenant_id=None, roles=("requester",), user_id=None, ttl=300):
        now = datetime.datetime.now(datetime.UTC)
        return mint_access_token(
            self.key,
            ISSUER,
            AUDIENCE,
            str(user_id or uuid.uuid4()),
            str(tenant_id or uuid.uuid4()),
            list(roles),
            ttl,
            now,
        )

    def headers(self, **kwargs):
        return {"Authorization": f"Bearer {self.token(**kwargs)}"}

    def close(self):
        self.server.shutdown()
        self.server.server_close()
