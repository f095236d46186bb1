"""Google ID tokens: verified with google-auth against the fake provider's certs, failing closed."""

import secrets
import uuid

import pytest

from dzdesk_dev.keys import ProviderKey
from services.identity.federation import (
    ExternalIdentity,
    GoogleVerifier,
    InvalidIdToken,
    google_key_ids,
)
from shared.auth import KeySetCache


def _sub() -> str:
    return str(secrets.randbelow(10**21))


@pytest.fixture(params=["v1-pem-certs", "v3-jwks"])
def verifier(request, provider):
    certs_url = (
        provider.google_certs_url if request.param == "v1-pem-certs" else provider.google_jwks_url
    )
    return GoogleVerifier([provider.google_client_id], certs_url)


def _assert_rejected(verifier, token, reason="google id token rejected"):
    with pytest.raises(InvalidIdToken, match=reason):
        verifier.verify(token)


def test_a_workspace_account_maps_to_its_domain_org(provider, verifier):
    sub, domain = _sub(), f"{uuid.uuid4().hex[:8]}.example"
    identity = verifier.verify(provider.mint_google(sub, f"ana@{domain}", hd=domain, name="Ana"))
    assert identity == ExternalIdentity(
        provider="google",
        account_key=("google", sub),
        org_key=f"google:{domain}",
        org_name=domain,
        email=f"ana@{domain}",
        name="Ana",
        personal=False,
    )


def test_an_account_without_hosted_domain_is_personal(provider, verifier):
    identity = verifier.verify(provider.mint_google(_sub(), "someone@gmail.com"))
    assert identity.personal is True
    assert identity.org_key is None


def test_the_account_key_is_the_subject_not_the_email(provider, verifier):
    sub = _sub()
    first = verifier.verify(provider.mint_google(sub, "old@example.com"))
    second = verifier.verify(provider.mint_google(sub, "new@example.com"))
    assert first.account_key == second.account_key == ("google", sub)


def test_a_token_signed_by_an_unknown_key_is_rejected(provider, verifier):
    claims = provider.google_claims(_sub(), "a@example.com")
    _assert_rejected(
        verifier, provider.forge_with_unknown_key(claims, provider.google_keys[-1].kid)
    )


def test_a_token_with_an_unknown_kid_is_rejected(provider, verifier):
    _assert_rejected(
        verifier, provider.forge_with_unknown_kid(provider.google_claims(_sub(), "a@example.com"))
    )


def test_an_unsigned_alg_none_token_is_rejected(provider, verifier):
    claims = provider.google_claims(_sub(), "a@example.com")
    _assert_rejected(
        verifier, provider.forge_unsigned(claims, provider.google_keys[-1].kid), "unsupported"
    )


def test_an_hs256_token_keyed_with_the_public_key_is_rejected(provider, verifier):
    claims = provider.google_claims(_sub(), "a@example.com")
    _assert_rejected(
        verifier,
        provider.forge_hs256_with_public_key(claims, provider.google_keys[-1]),
        "unsupported",
    )


def test_a_token_for_another_client_is_rejected(provider, verifier):
    other_client = f"{secrets.token_hex(6)}.apps.googleusercontent.com"
    _assert_rejected(verifier, provider.mint_google(_sub(), "a@example.com", aud=other_client))


def test_a_token_from_a_foreign_issuer_is_rejected(provider, verifier):
    _assert_rejected(
        verifier,
        provider.mint_google(_sub(), "a@example.com", iss="https://evil.example"),
        "foreign issuer",
    )


def test_an_expired_token_is_rejected(provider, verifier):
    _assert_rejected(verifier, provider.mint_google(_sub(), "a@example.com", exp_delta=-3600))


def test_an_unverified_email_is_rejected(provider, verifier):
    _assert_rejected(
        verifier,
        provider.mint_google(_sub(), "a@example.com", email_verified=False),
        "not verified",
    )


def test_garbage_is_rejected_as_a_malformed_token(verifier):
    with pytest.raises(InvalidIdToken, match="malformed"):
        verifier.verify("not-a-jwt")


def test_both_google_issuer_spellings_are_accepted(provider, verifier):
    identity = verifier.verify(
        provider.mint_google(_sub(), "a@example.com", iss="accounts.google.com")
    )
    assert identity.provider == "google"


def test_certs_are_fetched_once_for_many_sign_ins(provider):
    verifier = GoogleVerifier([provider.google_client_id], provider.google_certs_url)
    for _ in range(3):
        verifier.verify(provider.mint_google(_sub(), "a@example.com"))
    assert provider.hits["/oauth2/v1/certs"] == 1


def test_a_key_google_rotated_in_is_picked_up_by_refetching_the_certs(provider, clock):
    certs = KeySetCache(provider.google_certs_url, clock=clock, kids=google_key_ids)
    verifier = GoogleVerifier([provider.google_client_id], provider.google_certs_url, certs=certs)
    verifier.verify(provider.mint_google(_sub(), "a@example.com"))
    provider.google_keys.append(ProviderKey.generate())
    clock.advance(60)
    assert verifier.verify(provider.mint_google(_sub(), "b@example.com")).email == "b@example.com"
