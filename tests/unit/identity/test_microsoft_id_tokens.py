"""Microsoft (Entra ID v2.0) ID tokens: verified with pyjwt against the fake JWKS, failing
closed."""

import uuid

import pytest

from services.identity.federation import (
    MICROSOFT_CONSUMER_TENANT,
    ExternalIdentity,
    InvalidIdToken,
    MicrosoftVerifier,
)
from shared.auth import KeySetCache


def _ids() -> tuple[str, str]:
    return str(uuid.uuid4()), str(uuid.uuid4())


@pytest.fixture
def verifier(provider):
    return MicrosoftVerifier(provider.microsoft_client_id, provider.microsoft_jwks_url)


def test_a_work_account_maps_to_its_tenant_org(provider, verifier):
    tid, oid = _ids()
    identity = verifier.verify(provider.mint_microsoft(tid, oid, "ana@contoso.example", "Ana"))
    assert identity == ExternalIdentity(
        provider="microsoft",
        account_key=("microsoft", tid, oid),
        org_key=f"microsoft:{tid}",
        org_name=None,
        email="ana@contoso.example",
        name="Ana",
        personal=False,
    )


def test_a_consumer_tenant_account_is_personal(provider, verifier):
    identity = verifier.verify(
        provider.mint_microsoft(
            MICROSOFT_CONSUMER_TENANT, str(uuid.uuid4()), "someone@outlook.example", "Someone"
        )
    )
    assert identity.personal is True
    assert identity.org_key is None


def test_an_email_claim_naming_another_user_yields_a_different_account(provider, verifier):
    tid, victim_oid = _ids()
    victim = verifier.verify(provider.mint_microsoft(tid, victim_oid, "ceo@contoso.example", "CEO"))
    attacker_tid, attacker_oid = _ids()
    attacker = verifier.verify(
        provider.mint_microsoft(attacker_tid, attacker_oid, "ceo@contoso.example", "CEO")
    )
    assert attacker.account_key != victim.account_key
    assert attacker.account_key == ("microsoft", attacker_tid, attacker_oid)


def test_a_token_signed_by_an_unknown_key_is_rejected(provider, verifier):
    claims = provider.microsoft_claims(*_ids(), "a@example.com", "A")
    with pytest.raises(InvalidIdToken, match="signature"):
        verifier.verify(provider.forge_with_unknown_key(claims, provider.microsoft_keys[-1].kid))


def test_a_token_with_an_unknown_kid_is_rejected(provider, verifier):
    claims = provider.microsoft_claims(*_ids(), "a@example.com", "A")
    with pytest.raises(InvalidIdToken, match="unknown signing key"):
        verifier.verify(provider.forge_with_unknown_kid(claims))


def test_an_unsigned_alg_none_token_is_rejected(provider, verifier):
    claims = provider.microsoft_claims(*_ids(), "a@example.com", "A")
    with pytest.raises(InvalidIdToken, match="unsupported"):
        verifier.verify(provider.forge_unsigned(claims, provider.microsoft_keys[-1].kid))


def test_an_hs256_token_keyed_with_the_public_key_is_rejected(provider, verifier):
    claims = provider.microsoft_claims(*_ids(), "a@example.com", "A")
    with pytest.raises(InvalidIdToken, match="unsupported"):
        verifier.verify(provider.forge_hs256_with_public_key(claims, provider.microsoft_keys[-1]))


def test_a_token_for_another_client_is_rejected(provider, verifier):
    token = provider.mint_microsoft(*_ids(), "a@example.com", "A", aud=str(uuid.uuid4()))
    with pytest.raises(InvalidIdToken, match="audience"):
        verifier.verify(token)


def test_a_token_from_a_foreign_issuer_is_rejected(provider, verifier):
    token = provider.mint_microsoft(*_ids(), "a@example.com", "A", iss="https://evil.example/v2.0")
    with pytest.raises(InvalidIdToken, match="issuer"):
        verifier.verify(token)


def test_an_issuer_naming_another_tenant_than_the_tid_claim_is_rejected(provider, verifier):
    tid, oid = _ids()
    other_tenant_issuer = f"https://login.microsoftonline.com/{uuid.uuid4()}/v2.0"
    with pytest.raises(InvalidIdToken, match="issuer"):
        verifier.verify(
            provider.mint_microsoft(tid, oid, "a@example.com", "A", iss=other_tenant_issuer)
        )


def test_an_expired_token_is_rejected(provider, verifier):
    with pytest.raises(InvalidIdToken, match="expired"):
        verifier.verify(provider.mint_microsoft(*_ids(), "a@example.com", "A", exp_delta=-3600))


def test_a_tenant_outside_the_allow_list_is_rejected(provider):
    allowed_tid = str(uuid.uuid4())
    verifier = MicrosoftVerifier(
        provider.microsoft_client_id, provider.microsoft_jwks_url, allowed_tenants={allowed_tid}
    )
    with pytest.raises(InvalidIdToken, match="not allowed"):
        verifier.verify(provider.mint_microsoft(*_ids(), "a@example.com", "A"))


def test_a_token_with_a_different_nonce_than_sent_is_rejected(provider, verifier):
    token = provider.mint_microsoft(*_ids(), "a@example.com", "A", nonce=uuid.uuid4().hex)
    with pytest.raises(InvalidIdToken, match="nonce"):
        verifier.verify(token, nonce=uuid.uuid4().hex)


def test_a_token_without_a_nonce_is_rejected_when_one_was_sent(provider, verifier):
    with pytest.raises(InvalidIdToken, match="nonce"):
        verifier.verify(
            provider.mint_microsoft(*_ids(), "a@example.com", "A"), nonce=uuid.uuid4().hex
        )


def test_a_token_without_a_tenant_id_is_rejected(provider, verifier):
    claims = provider.microsoft_claims(*_ids(), "a@example.com", "A")
    del claims["tid"]
    with pytest.raises(InvalidIdToken, match="tenant"):
        verifier.verify(provider.microsoft_keys[-1].sign(claims))


def test_a_key_rotated_in_at_the_provider_is_picked_up_by_refetching(provider, clock):
    keys = KeySetCache(provider.microsoft_jwks_url, clock=clock)
    verifier = MicrosoftVerifier(
        provider.microsoft_client_id, provider.microsoft_jwks_url, keys=keys
    )
    verifier.verify(provider.mint_microsoft(*_ids(), "a@example.com", "A"))
    provider.rotate_microsoft_key()
    clock.advance(60)
    identity = verifier.verify(provider.mint_microsoft(*_ids(), "b@example.com", "B"))
    assert identity.email == "b@example.com"
