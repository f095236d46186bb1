"""Field sealing under per-subject keys: round trips, binding, tampering and crypto-shredding."""

import base64
import uuid

import pytest

from shared.crypto import ERASED, CipherError, FieldCipher, LocalKeyring, subjects


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def keyring():
    return LocalKeyring()


@pytest.fixture
def cipher(keyring):
    return FieldCipher(keyring)


def test_sealed_fields_open_to_the_original_json_values(cipher):
    tenant, alice = new_id(), new_id()
    values = {
        "email": "alice@example.com",
        "name": "Alice Ünïcode",
        "tags": ["a", 1, None],
        "profile": {"x": 1.5},
    }
    pii = cipher.seal(tenant, {field: (alice, value) for field, value in values.items()})
    assert cipher.open(tenant, pii) == values


def test_sealed_entries_hold_no_plaintext(cipher):
    tenant, alice = new_id(), new_id()
    pii = cipher.seal(tenant, {"email": (alice, "alice@example.com")})
    assert set(pii["email"]) == {"s", "n", "c"}
    assert pii["email"]["s"] == alice
    assert "alice" not in repr(pii)
    assert b"alice" not in base64.b64decode(pii["email"]["c"])


def test_sealing_the_same_value_twice_gives_different_ciphertexts(cipher):
    tenant, alice = new_id(), new_id()
    first = cipher.seal(tenant, {"email": (alice, "a@example.com")})
    second = cipher.seal(tenant, {"email": (alice, "a@example.com")})
    assert first["email"]["c"] != second["email"]["c"]


def test_fields_of_several_subjects_open_independently(cipher, keyring):
    tenant, alice, bob = new_id(), new_id(), new_id()
    pii = cipher.seal(
        tenant, {"requester_email": (alice, "a@example.com"), "agent_name": (bob, "Bob")}
    )
    keyring.shred(tenant, alice)
    assert cipher.open(tenant, pii) == {"requester_email": ERASED, "agent_name": "Bob"}


def test_subjects_lists_every_subject_an_envelope_depends_on(cipher):
    tenant, alice, bob = new_id(), new_id(), new_id()
    pii = cipher.seal(tenant, {"a": (alice, 1), "b": (bob, 2), "c": (alice, 3)})
    assert subjects(pii) == {alice, bob}
    assert FieldCipher.subjects(None) == set()


def test_a_shredded_subject_opens_as_erased_without_raising(cipher, keyring):
    tenant, alice = new_id(), new_id()
    pii = cipher.seal(tenant, {"email": (alice, "a@example.com"), "ip": (alice, "10.0.0.1")})
    keyring.shred(tenant, alice)
    assert cipher.open(tenant, pii) == {"email": ERASED, "ip": ERASED}


def test_a_shredded_subject_gets_no_new_key_and_new_fields_are_stored_erased(cipher, keyring):
    tenant, alice = new_id(), new_id()
    keyring.shred(tenant, alice)
    pii = cipher.seal(tenant, {"email": (alice, "a@example.com")})
    assert pii == {"email": {"s": alice}}
    assert keyring.get_key(tenant, alice, create=True) is None
    assert cipher.open(tenant, pii) == {"email": ERASED}


def test_a_flipped_ciphertext_bit_raises_cipher_error(cipher):
    tenant, alice = new_id(), new_id()
    pii = cipher.seal(tenant, {"email": (alice, "a@example.com")})
    raw = bytearray(base64.b64decode(pii["email"]["c"]))
    raw[0] ^= 0x01
    pii["email"]["c"] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(CipherError, match="'email'"):
        cipher.open(tenant, pii)


def test_a_changed_nonce_raises_cipher_error(cipher):
    tenant, alice = new_id(), new_id()
    pii = cipher.seal(tenant, {"email": (alice, "a@example.com")})
    pii["email"]["n"] = base64.b64encode(bytes(12)).decode()
    with pytest.raises(CipherError):
        cipher.open(tenant, pii)


def test_a_ciphertext_moved_to_another_field_raises_cipher_error(cipher):
    tenant, alice = new_id(), new_id()
    pii = cipher.seal(tenant, {"email": (alice, "a@example.com"), "name": (alice, "Alice")})
    pii["name"], pii["email"] = pii["email"], pii["name"]
    with pytest.raises(CipherError):
        cipher.open(tenant, pii)


def test_a_ciphertext_relabelled_to_another_subject_raises_cipher_error(cipher):
    tenant, alice, bob = new_id(), new_id(), new_id()
    pii = cipher.seal(tenant, {"email": (alice, "a@example.com"), "name": (bob, "Bob")})
    pii["email"]["s"] = bob
    with pytest.raises(CipherError):
        cipher.open(tenant, pii)


def test_a_ciphertext_moved_to_another_tenant_raises_cipher_error(keyring, cipher):
    tenant, other_tenant, alice = new_id(), new_id(), new_id()
    keyring.get_key(other_tenant, alice, create=True)
    pii = cipher.seal(tenant, {"email": (alice, "a@example.com")})
    with pytest.raises(CipherError):
        cipher.open(other_tenant, pii)


def test_a_ciphertext_moved_to_a_tenant_without_that_subject_reveals_nothing(cipher):
    tenant, other_tenant, alice = new_id(), new_id(), new_id()
    pii = cipher.seal(tenant, {"email": (alice, "a@example.com")})
    assert cipher.open(other_tenant, pii) == {"email": ERASED}


def test_a_malformed_entry_raises_cipher_error(cipher):
    with pytest.raises(CipherError, match="'email'"):
        cipher.open(new_id(), {"email": "a@example.com"})


def test_a_non_base64_ciphertext_raises_cipher_error(cipher):
    tenant, alice = new_id(), new_id()
    pii = cipher.seal(tenant, {"email": (alice, "a@example.com")})
    pii["email"]["c"] = "not base64!"
    with pytest.raises(CipherError, match="base64"):
        cipher.open(tenant, pii)


def test_a_single_read_model_value_round_trips(cipher):
    tenant, alice = new_id(), new_id()
    sealed = cipher.seal_value(tenant, alice, "requester_email", "a@example.com")
    assert cipher.open_value(tenant, "requester_email", sealed) == "a@example.com"


def test_a_single_value_is_bound_to_its_column(cipher):
    tenant, alice = new_id(), new_id()
    sealed = cipher.seal_value(tenant, alice, "requester_email", "a@example.com")
    with pytest.raises(CipherError):
        cipher.open_value(tenant, "requester_name", sealed)


def test_a_single_value_of_a_shredded_subject_opens_as_erased(cipher, keyring):
    tenant, alice = new_id(), new_id()
    sealed = cipher.seal_value(tenant, alice, "requester_email", "a@example.com")
    keyring.shred(tenant, alice)
    assert cipher.open_value(tenant, "requester_email", sealed) == ERASED


def test_a_single_value_uses_the_same_format_as_an_envelope_field(cipher):
    tenant, alice = new_id(), new_id()
    sealed = cipher.seal_value(tenant, alice, "email", "a@example.com")
    assert cipher.open(tenant, {"email": sealed}) == {"email": "a@example.com"}
