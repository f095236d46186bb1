"""Signing in as anyone, for development: an ID token from the running dev provider, sent to the
real endpoint."""

import os
import uuid

import requests

from dzdesk_dev.endpoints import MINT_PATH
from dzdesk_dev.oidc import DEFAULT_PORT
from shared.environment import DEV_SIGN_IN_SETTING

DEFAULT_GATEWAY_URL = "http://127.0.0.1:8080"
DEFAULT_SIGN_IN_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
# Google accounts of these domains are personal: their tokens carry no hosted domain
PERSONAL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
# names a Microsoft tenant given as a word (``--microsoft-tenant globex``) by a stable UUID
TENANT_NAMESPACE = uuid.UUID("5b1c7a52-1f4e-4a43-9d0c-6d7a2f0f3e11")


class SignInFailed(Exception):
    """The provider or the sign-in endpoint could not be reached or said no; the text says which."""


def gateway_url() -> str:
    return os.environ.get("DZDESK_GATEWAY_URL", DEFAULT_GATEWAY_URL).rstrip("/")


def sign_in_url() -> str:
    return os.environ.get(DEV_SIGN_IN_SETTING, DEFAULT_SIGN_IN_URL).rstrip("/")


def microsoft_tenant_id(value: str) -> str:
    """A tenant id as given, or a stable one derived from a word."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return str(uuid.uuid5(TENANT_NAMESPACE, value.strip().lower()))


def mint_request(email: str, name=None, org=None, microsoft_tenant=None) -> dict:
    """What to ask the provider for: Microsoft with a tenant, else Google with the org as hosted
    domain."""
    if microsoft_tenant:
        return {
            "provider": "microsoft",
            "email": email,
            "name": name,
            "tenant": microsoft_tenant_id(microsoft_tenant),
        }
    domain = email.rpartition("@")[2].lower()
    hd = org or (None if domain in PERSONAL_DOMAINS else domain)
    return {"provider": "google", "email": email, "name": name, "hd": hd}


def id_token(provider_url: str, request: dict) -> str:
    try:
        response = requests.post(provider_url + MINT_PATH, json=request, timeout=15)
    except requests.ConnectionError:
        raise SignInFailed(
            f"no development sign-in provider answers at {provider_url}: `make run` starts one "
            "when no Google or Microsoft client is configured"
        ) from None
    if response.status_code != 200:
        raise SignInFailed(f"the development provider refused: {response.text}")
    return response.json()["id_token"]


def sign_in(
    email: str, name=None, org=None, microsoft_tenant=None, *, gateway=None, provider_url=None
) -> dict:
    """Identity's answer to a sign-in with a fresh development ID token (access and
    refresh tokens)."""
    gateway, provider_url = gateway or gateway_url(), provider_url or sign_in_url()
    request = mint_request(email, name, org, microsoft_tenant)
    token = id_token(provider_url, request)
    try:
        response = requests.post(
            f"{gateway}/v1/auth/{request['provider']}", json={"id_token": token}, timeout=15
        )
    except requests.ConnectionError:
        raise SignInFailed(f"no gateway answers at {gateway}: is `make run` running?") from None
    if response.status_code != 200:
        raise SignInFailed(f"sign-in refused ({response.status_code}): {response.text}")
    return response.json()
