"""Signed checkpoints: the signed bytes, signature checks, and the key formats they travel in."""

import base64
import dataclasses
import json
import os
import uuid

import pytest
from cryptography.hazmat.primitives import serialization

from services.audit.checkpoints import (
    CHECKPOINT_DOMAIN,
    Checkpoint,
    InvalidCheckpoint,
    as_public_key,
    checkpoint_message,
    public_keys_by_id,
    sign_checkpoint,
    verify_checkpoint,
)
from services.audit.signing import (
    Signer,
    generate_private_key,
    load_private_key,
    save_private_key,
)
from shared.jwk import key_from_jwk, public_jwk

HEAD = "ab" * 32


@pytest.fixture
def checkpoint(signing_key, key_id, tenant_id):
    return sign_checkpoint(signing_key, key_id, tenant_id, 42, HEAD, "2025-03-01T10:00:00+00:00")


def test_the_signed_message_is_the_domain_prefix_and_canonical_json_of_tenant_seq_hash(tenant_id):
    message = checkpoint_message(tenant_id.upper(), 42, HEAD)

    assert message == CHECKPOINT_DOMAIN + (
        f'{{"hash":"{HEAD}","seq":42,"tenant_id":"{tenant_id}"}}'
    ).encode("ascii")


def test_a_signed_checkpoint_verifies_under_its_public_key(checkpoint, signing_key):
    assert verify_checkpoint(checkpoint, signing_key.public_key())


def test_a_checkpoint_verifies_with_raw_key_bytes_or_a_jwk(checkpoint, signing_key):
    public = signing_key.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    assert verify_checkpoint(checkpoint, raw) and verify_checkpoint(checkpoint, public_jwk(public))


@pytest.mark.parametrize(
    "change", [{"seq": 43}, {"hash": "cd" * 32}, {"tenant_id": str(uuid.uuid4())}]
)
def test_a_checkpoint_whose_signed_fields_were_changed_does_not_verify(
    checkpoint, signing_key, change
):
    assert not verify_checkpoint(
        dataclasses.replace(checkpoint, **change), signing_key.public_key()
    )


def test_a_checkpoint_does_not_verify_under_another_key(checkpoint):
    assert not verify_checkpoint(checkpoint, generate_private_key().public_key())


def test_a_signature_that_is_not_base64_does_not_verify(checkpoint, signing_key):
    assert not verify_checkpoint(
        dataclasses.replace(checkpoint, signature_b64="not base64!"), signing_key.public_key()
    )


def test_a_signature_over_the_bare_json_without_the_domain_prefix_does_not_verify(
    checkpoint, signing_key
):
    bare = checkpoint_message(checkpoint.tenant_id, 42, HEAD)[len(CHECKPOINT_DOMAIN) :]
    signature = base64.b64encode(signing_key.sign(bare)).decode()

    assert not verify_checkpoint(
        dataclasses.replace(checkpoint, signature_b64=signature), signing_key.public_key()
    )


def test_a_hash_that_is_not_64_lowercase_hex_digits_cannot_be_signed(signing_key, tenant_id):
    with pytest.raises(InvalidCheckpoint):
        sign_checkpoint(signing_key, "k", tenant_id, 1, HEAD.upper(), "2025-03-01T10:00:00Z")


def test_a_checkpoint_round_trips_through_its_http_shape(checkpoint):
    body = json.loads(json.dumps(checkpoint.to_dict()))

    assert set(body) == {"tenant_id", "seq", "hash", "signed_at", "key_id", "signature"}
    assert Checkpoint.from_dict(body) == checkpoint


def test_a_checkpoint_document_without_a_signature_is_invalid(checkpoint):
    body = checkpoint.to_dict()
    del body["signature"]

    with pytest.raises(InvalidCheckpoint, match="signature"):
        Checkpoint.from_dict(body)


def test_a_public_key_round_trips_through_its_jwk(signing_key, key_id):
    jwk = public_jwk(signing_key.public_key(), key_id)

    assert (jwk["kty"], jwk["crv"], jwk["kid"]) == ("OKP", "Ed25519", key_id)
    assert (
        public_keys_by_id({"keys": [jwk]})[key_id].public_bytes_raw()
        == signing_key.public_key().public_bytes_raw()
    )


def test_the_default_key_id_is_the_rfc8037_thumbprint():
    # RFC 8037 appendix A.2 / A.3: the example public key and its RFC 7638 thumbprint.
    public = key_from_jwk(
        {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    )

    assert public_jwk(public)["kid"] == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_a_signer_s_key_id_is_its_public_key_s_thumbprint(signing_key):
    signer = Signer(signing_key)

    assert signer.key_id == public_jwk(signing_key)["kid"] == signer.public_jwk["kid"]


def test_a_jwk_of_another_curve_is_rejected():
    with pytest.raises(InvalidCheckpoint):
        as_public_key({"kty": "OKP", "crv": "X25519", "x": "AAAA"})


def test_a_jwk_set_with_a_bad_key_is_an_invalid_checkpoint_document():
    with pytest.raises(InvalidCheckpoint):
        public_keys_by_id({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": 5}]})


def test_a_saved_private_key_is_owner_only_and_loads_back(tmp_path, signing_key):
    path = tmp_path / f"{uuid.uuid4().hex}.pem"

    save_private_key(path, signing_key)

    assert os.stat(path).st_mode & 0o777 == 0o600
    assert (
        load_private_key(path).public_key().public_bytes_raw()
        == signing_key.public_key().public_bytes_raw()
    )
