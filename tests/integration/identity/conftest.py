"""Identity running under nameko with privacy (subject keys) against the fake OIDC provider."""

import uuid
from dataclasses import dataclass

import psycopg
import pytest
import requests

from services.identity.service import IdentityService
from services.privacy.service import PrivacyService
from tests.support.fake_oidc import FakeOidcProvider

COUNTED_TABLES = (
    "events",
    "tenants",
    "users",
    "sessions",
    "refresh_tokens",
    "external_identities",
    "organizations",
)


@dataclass
class Identity:
    """The running service seen from outside: HTTP, RPC config and raw rows as superuser."""

    base: str
    cfg: dict
    urls: dict
    provider: FakeOidcProvider

    def post(self, path, **kwargs):
        return requests.post(self.base + path, timeout=10, **kwargs)

    def put(self, path, **kwargs):
        return requests.put(self.base + path, timeout=10, **kwargs)

    def delete(self, path, **kwargs):
        return requests.delete(self.base + path, timeout=10, **kwargs)

    def get(self, path, token=None, **kwargs):
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.get(self.base + path, headers=headers, timeout=10, **kwargs)

    def google(self, sub=None, email=None, hd=None, **kwargs):
        token = self.provider.mint_google(
            sub or uuid.uuid4().hex, email or f"{uuid.uuid4().hex[:8]}@example.test", hd=hd
        )
        return self.post("/v1/auth/google", json={"id_token": token}, **kwargs)

    def microsoft(self, tid=None, oid=None, email=None, name="Ana Example", **kwargs):
        token = self.provider.mint_microsoft(
            tid or str(uuid.uuid4()),
            oid or str(uuid.uuid4()),
            email or f"{uuid.uuid4().hex[:8]}@contoso.test",
            name,
        )
        return self.post("/v1/auth/microsoft", json={"id_token": token}, **kwargs)

    def rows(self, query, params=()):
        with psycopg.connect(self.urls["admin"]) as conn:
            return conn.execute(query, params).fetchall()

    def counts(self):
        return {table: self.rows(f"SELECT count(*) FROM {table}")[0][0] for table in COUNTED_TABLES}

    def events(self, event_type=None):
        query, params = "SELECT envelope FROM events", ()
        if event_type:
            query, params = query + " WHERE event_type = %s", (event_type,)
        return [row[0] for row in self.rows(query + " ORDER BY position", params)]


@pytest.fixture
def start_identity(service_config, provider, container_factory):
    def start(**overrides):
        privacy_cfg, _ = service_config("privacy")
        container_factory(PrivacyService, privacy_cfg).start()
        cfg, urls = service_config("identity", AMQP_URI=privacy_cfg["AMQP_URI"])
        base = f"http://{cfg['WEB_SERVER_ADDRESS']}"
        cfg.update(
            {
                "GOOGLE_CLIENT_IDS": (
                    f"other.apps.googleusercontent.com,{provider.google_client_id}"
                ),
                "GOOGLE_CERTS_URL": provider.google_certs_url,
                "MICROSOFT_CLIENT_ID": provider.microsoft_client_id,
                "MICROSOFT_CLIENT_SECRET": provider.microsoft_client_secret,
                "MICROSOFT_JWKS_URL": provider.microsoft_jwks_url,
                "MICROSOFT_AUTHORITY": provider.microsoft_authority("organizations"),
                "MICROSOFT_REDIRECT_URI": base + "/v1/auth/microsoft/callback",
                **overrides,
            }
        )
        container_factory(IdentityService, cfg).start()
        return Identity(base, cfg, urls, provider)

    return start


@pytest.fixture
def identity(start_identity):
    return start_identity()
