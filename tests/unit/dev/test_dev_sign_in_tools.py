"""The development provider's token mint and dzdesk-dev's choices, without a running suite."""

import io
import uuid

import pytest
import requests
from nameko.testing.utils import find_free_port

from dzdesk_dev import cli, demo
from dzdesk_dev.endpoints import MINT_PATH
from dzdesk_dev.sign_in import microsoft_tenant_id, mint_request
from services.identity.federation import GoogleVerifier, MicrosoftVerifier


def _mint(provider, body):
    return requests.post(provider.http_url + MINT_PATH, json=body, timeout=5)


def test_an_email_signs_in_to_the_google_workspace_of_its_domain():
    assert mint_request("alice@acme.test")["hd"] == "acme.test"
    assert mint_request("alice@acme.test", org="corp.acme.test")["hd"] == "corp.acme.test"
    assert mint_request("someone@gmail.com")["hd"] is None


def test_a_microsoft_tenant_is_a_uuid_or_a_word_standing_for_the_same_uuid_each_time():
    tid = str(uuid.uuid4())
    assert mint_request("ana@globex.test", microsoft_tenant=tid)["tenant"] == tid
    assert microsoft_tenant_id("globex") == microsoft_tenant_id("Globex")
    assert str(uuid.UUID(microsoft_tenant_id("globex"))) == microsoft_tenant_id("globex")


def test_the_same_email_is_the_same_google_account_at_every_sign_in(provider):
    verifier = GoogleVerifier([provider.google_client_id], provider.google_certs_url)
    body = {"provider": "google", "email": "Alice@acme.test", "hd": "acme.test"}
    first, second = (verifier.verify(_mint(provider, body).json()["id_token"]) for _ in range(2))
    assert first.account_key == second.account_key
    assert (first.org_key, first.email, first.name) == (
        "google:acme.test",
        "alice@acme.test",
        "Alice",
    )


def test_a_microsoft_token_is_minted_for_the_tenant_asked_for(provider):
    verifier = MicrosoftVerifier(provider.microsoft_client_id, provider.microsoft_jwks_url)
    tid = str(uuid.uuid4())
    answer = _mint(
        provider,
        {"provider": "microsoft", "email": "ana@globex.test", "name": "Ana", "tenant": tid},
    )
    identity = verifier.verify(answer.json()["id_token"])
    assert (identity.org_key, identity.name) == (f"microsoft:{tid}", "Ana")


@pytest.mark.parametrize(
    "body",
    [
        {"provider": "google"},
        {"provider": "google", "email": "no-at-sign"},
        {"provider": "microsoft", "email": "a@b.test", "tenant": "not-a-uuid"},
        {"provider": "facebook", "email": "a@b.test"},
        ["a list"],
    ],
    ids=["no email", "not an address", "tenant not a uuid", "unknown provider", "not an object"],
)
def test_the_mint_answers_400_to_what_it_cannot_mint(provider, body):
    response = _mint(provider, body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_dzdesk_dev_token_says_when_no_provider_answers(capsys):
    nowhere = f"http://127.0.0.1:{find_free_port()}"
    assert (
        cli.main(["token", "--email", "a@b.test", "--sign-in", nowhere, "--gateway", nowhere]) == 1
    )
    assert "no development sign-in provider answers" in capsys.readouterr().err


def test_the_tour_exits_non_zero_at_the_first_step_that_does_not_hold():
    nowhere = f"http://127.0.0.1:{find_free_port()}"
    out = io.StringIO()
    assert demo.main(gateway=nowhere, provider_url=nowhere, out=out) == 1
    assert "FAILED at step 1: no development sign-in provider answers" in out.getvalue()
