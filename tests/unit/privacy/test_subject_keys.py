"""Master-key wrapping, the local keyring and the subject key cache."""

import base64
import os
import uuid

import pytest

from shared.crypto import (
    CipherError,
    CryptoError,
    FieldCipher,
    KeyCache,
    LocalKeyring,
    MasterKey,
    MasterKeyError,
    new_data_key,
)


def new_id() -> str:
    return str(uuid.uuid4())


class CountingKeyring:
    """A real LocalKeyring that counts how often it is asked, to observe caching."""

    def __init__(self):
        self.keyring = LocalKeyring()
        self.calls = 0

    def get_key(self, tenant_id, subject_id, create=False):
        self.calls += 1
        return self.keyring.get_key(tenant_id, subject_id, create=create)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_master_key_loads_from_base64_of_32_bytes():
    raw = os.urandom(32)
    key = MasterKey.from_env_value(base64.b64encode(raw).decode())
    assert key.key_id == MasterKey(raw).key_id
    assert len(key.key_id) == 16


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "not set"),
        ("", "not set"),
        ("%%%", "not valid base64"),
        (base64.b64encode(b"short").decode(), "5 bytes"),
    ],
)
def test_a_bad_master_key_value_is_refused_with_a_clear_reason(value, reason):
    with pytest.raises(MasterKeyError, match=reason) as caught:
        MasterKey.from_env_value(value)
    assert "DZDESK_MASTER_KEY" in str(caught.value)


def test_a_master_key_repr_shows_only_its_id():
    raw = os.urandom(32)
    key = MasterKey(raw)
    assert repr(key) == f"MasterKey(key_id='{key.key_id}')"
    assert raw.hex() not in repr(key)


def test_different_master_keys_have_different_ids():
    assert MasterKey.generate().key_id != MasterKey.generate().key_id


def test_a_wrapped_data_key_unwraps_to_itself():
    master, tenant, subject, data_key = MasterKey.generate(), new_id(), new_id(), new_data_key()
    wrapped = master.wrap(data_key, tenant, subject)
    assert data_key not in wrapped
    assert master.unwrap(wrapped, tenant, subject) == data_key


def test_a_wrapped_key_does_not_unwrap_under_the_wrong_master_key():
    tenant, subject = new_id(), new_id()
    wrapped = MasterKey.generate().wrap(new_data_key(), tenant, subject)
    wrong = MasterKey.generate()
    with pytest.raises(CipherError, match=wrong.key_id):
        wrong.unwrap(wrapped, tenant, subject)


def test_a_wrapped_key_cannot_be_moved_to_another_subject():
    master, tenant = MasterKey.generate(), new_id()
    wrapped = master.wrap(new_data_key(), tenant, new_id())
    with pytest.raises(CipherError):
        master.unwrap(wrapped, tenant, new_id())


def test_a_wrapped_key_cannot_be_moved_to_another_tenant():
    master, subject = MasterKey.generate(), new_id()
    wrapped = master.wrap(new_data_key(), new_id(), subject)
    with pytest.raises(CipherError):
        master.unwrap(wrapped, new_id(), subject)


def test_the_keyring_returns_the_same_key_for_a_subject_every_time():
    keyring, tenant, subject = LocalKeyring(), new_id(), new_id()
    first = keyring.get_key(tenant, subject, create=True)
    assert len(first) == 32
    assert keyring.get_key(tenant, subject) == first


def test_the_keyring_does_not_create_a_key_unless_asked():
    keyring, tenant, subject = LocalKeyring(), new_id(), new_id()
    assert keyring.get_key(tenant, subject) is None
    assert keyring.get_key(tenant, subject) is None


def test_the_keyring_gives_each_tenant_its_own_key_for_the_same_subject_id():
    keyring, subject = LocalKeyring(), new_id()
    assert keyring.get_key(new_id(), subject, create=True) != keyring.get_key(
        new_id(), subject, create=True
    )


def test_shredding_reports_whether_it_was_the_first_time():
    keyring, tenant, subject = LocalKeyring(), new_id(), new_id()
    keyring.get_key(tenant, subject, create=True)
    assert keyring.shred(tenant, subject) is True
    assert keyring.shred(tenant, subject) is False
    assert keyring.is_shredded(tenant, subject)


def test_the_cache_answers_repeat_lookups_without_asking_the_provider():
    provider, tenant, subject = CountingKeyring(), new_id(), new_id()
    cache = KeyCache(provider, ttl_seconds=60, clock=Clock())
    key = cache.get_key(tenant, subject, create=True)
    assert cache.get_key(tenant, subject) == key
    assert provider.calls == 1


def test_the_cache_asks_the_provider_again_after_the_ttl():
    provider, clock, tenant, subject = CountingKeyring(), Clock(), new_id(), new_id()
    cache = KeyCache(provider, ttl_seconds=60, clock=clock)
    cache.get_key(tenant, subject, create=True)
    clock.now += 61
    cache.get_key(tenant, subject)
    assert provider.calls == 2


def test_dropping_a_subject_makes_its_shredded_key_unavailable_at_once():
    provider, tenant, subject = CountingKeyring(), new_id(), new_id()
    cache = KeyCache(provider, ttl_seconds=60, clock=Clock())
    cache.get_key(tenant, subject, create=True)
    provider.keyring.shred(tenant, subject)
    cache.drop(tenant, subject)
    assert cache.get_key(tenant, subject) is None


def test_a_shredded_subject_is_negatively_cached_for_a_short_time():
    provider, clock, tenant, subject = CountingKeyring(), Clock(), new_id(), new_id()
    provider.keyring.shred(tenant, subject)
    cache = KeyCache(provider, ttl_seconds=60, negative_ttl_seconds=5, clock=clock)
    assert cache.get_key(tenant, subject) is None
    assert cache.get_key(tenant, subject) is None
    assert provider.calls == 1
    clock.now += 6
    cache.get_key(tenant, subject)
    assert provider.calls == 2


def test_a_cached_miss_does_not_prevent_creating_a_key():
    provider, tenant, subject = CountingKeyring(), new_id(), new_id()
    cache = KeyCache(provider, clock=Clock())
    assert cache.get_key(tenant, subject) is None
    assert cache.get_key(tenant, subject, create=True) is not None


def test_the_cache_stays_within_its_size_limit():
    provider, tenant = CountingKeyring(), new_id()
    cache = KeyCache(provider, max_entries=3, clock=Clock())
    subjects = [new_id() for _ in range(5)]
    for subject in subjects:
        cache.get_key(tenant, subject, create=True)
    calls = provider.calls
    cache.get_key(tenant, subjects[-1])
    cache.get_key(tenant, subjects[0])
    assert provider.calls == calls + 1


def test_a_field_cipher_over_a_cache_shows_erased_after_shred_and_drop():
    provider, tenant, subject = CountingKeyring(), new_id(), new_id()
    cache = KeyCache(provider, clock=Clock())
    cipher = FieldCipher(cache)
    pii = cipher.seal(tenant, {"ip": (subject, "192.0.2.1")})
    provider.keyring.shred(tenant, subject)
    cache.drop(tenant, subject)
    assert cipher.open(tenant, pii) == {"ip": "[erased]"}


def test_a_data_key_of_the_wrong_size_is_refused_for_wrapping():
    with pytest.raises(CryptoError, match="32 bytes"):
        MasterKey.generate().wrap(os.urandom(16), new_id(), new_id())


class FlakyKeyring(CountingKeyring):
    """A CountingKeyring that can be cut off, as privacy is during a broker outage."""

    away = False

    def get_key(self, tenant_id, subject_id, create=False):
        if self.away:
            self.calls += 1
            raise ConnectionError("the broker is away")
        return super().get_key(tenant_id, subject_id, create=create)


def test_while_the_provider_is_away_a_key_past_its_ttl_still_serves_until_max_stale():
    provider, clock, tenant, subject = FlakyKeyring(), Clock(), new_id(), new_id()
    cache = KeyCache(provider, ttl_seconds=60, max_stale_seconds=600, clock=clock)
    key = cache.get_key(tenant, subject, create=True)
    provider.away = True
    clock.now += 61
    assert cache.get_key(tenant, subject, create=True) == key
    assert provider.calls == 2  # it did ask, and fell back on what it had
    clock.now += 600
    with pytest.raises(ConnectionError):
        cache.get_key(tenant, subject, create=True)


def test_while_the_provider_is_away_a_subject_never_seen_cannot_get_a_key():
    provider, tenant = FlakyKeyring(), new_id()
    cache = KeyCache(provider, max_stale_seconds=600, clock=Clock())
    provider.away = True
    with pytest.raises(ConnectionError):
        cache.get_key(tenant, new_id(), create=True)


def test_a_cached_miss_never_stands_in_for_a_create_while_the_provider_is_away():
    provider, clock, tenant, subject = FlakyKeyring(), Clock(), new_id(), new_id()
    cache = KeyCache(provider, max_stale_seconds=600, clock=clock)
    assert cache.get_key(tenant, subject) is None
    provider.away = True
    assert cache.get_key(tenant, subject) is None
    with pytest.raises(ConnectionError):
        cache.get_key(tenant, subject, create=True)


def test_expiring_all_entries_makes_each_ask_again_and_a_missed_shred_takes_effect():
    provider, clock, tenant, subject = FlakyKeyring(), Clock(), new_id(), new_id()
    cache = KeyCache(provider, ttl_seconds=60, max_stale_seconds=600, clock=clock)
    cache.get_key(tenant, subject, create=True)
    provider.keyring.shred(tenant, subject)  # its broadcast never reached this process
    cache.expire_all()
    assert cache.get_key(tenant, subject) is None
    assert provider.calls == 2


def test_expired_entries_still_serve_while_the_provider_is_away():
    provider, clock, tenant, subject = FlakyKeyring(), Clock(), new_id(), new_id()
    cache = KeyCache(provider, ttl_seconds=60, max_stale_seconds=600, clock=clock)
    key = cache.get_key(tenant, subject, create=True)
    cache.expire_all()
    provider.away = True
    assert cache.get_key(tenant, subject, create=True) == key
