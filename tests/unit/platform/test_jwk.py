"""shared.jwk: Ed25519 JWKs and RFC 7638 thumbprints as identity and audit both publish them."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.jwk import InvalidJwk, key_from_jwk, keys_by_id, public_jwk, thumbprint

# RFC 8037 appendix A.2 and A.3: the example public key and its RFC 7638 thumbprint
RFC_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_the_thumbprint_of_the_rfc_example_key_is_the_rfcs():
    key = key_from_jwk({"kty": "OKP", "crv": "Ed25519", "x": RFC_X})

    assert thumbprint(key) == RFC_THUMBPRINT
    assert public_jwk(key) == {"kty": "OKP", "crv": "Ed25519", "kid": RFC_THUMBPRINT, "x": RFC_X}


def test_a_private_key_publishes_only_its_public_half():
    private = Ed25519PrivateKey.generate()

    jwk = public_jwk(private, kid="k1")

    assert set(jwk) == {"kty", "crv", "kid", "x"} and jwk["kid"] == "k1"
    assert key_from_jwk(jwk).public_bytes_raw() == private.public_key().public_bytes_raw()
    assert thumbprint(private) == thumbprint(private.public_key())


def test_a_key_set_is_indexed_by_kid_and_a_jwk_without_one_by_its_thumbprint():
    first, second = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    unnamed = {k: v for k, v in public_jwk(second).items() if k != "kid"}

    keys = keys_by_id({"keys": [public_jwk(first, kid="a"), unnamed]})

    assert set(keys) == {"a", thumbprint(second)}


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "OKP", "crv": "X25519", "x": RFC_X},
        {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
        {"kty": "OKP", "crv": "Ed25519", "x": "not base64url!"},
        {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"},
        {"kty": "OKP", "crv": "Ed25519"},
        "a string",
    ],
)
def test_anything_but_an_ed25519_public_jwk_is_refused(jwk):
    with pytest.raises(InvalidJwk):
        key_from_jwk(jwk)
