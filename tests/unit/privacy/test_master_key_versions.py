"""Versioned master keys: configuration, the current version wraps, each listed one unwraps."""

import base64
import os
import uuid

import pytest

from shared.crypto import CipherError, MasterKey, MasterKeyError, MasterKeyRing, new_data_key


def b64(raw):
    return base64.b64encode(raw).decode()


@pytest.fixture
def raw_keys():
    return os.urandom(32), os.urandom(32)


def test_a_single_master_key_is_version_one(raw_keys):
    ring = MasterKeyRing.from_config({"DZDESK_MASTER_KEY": b64(raw_keys[0])})
    assert ring.versions == [1] and ring.current.key_id == MasterKey(raw_keys[0]).key_id


def test_the_first_listed_master_key_is_current_and_wins_over_the_single_one(raw_keys):
    new, old = raw_keys
    ring = MasterKeyRing.from_config(
        {
            "DZDESK_MASTER_KEYS": f"2:{b64(new)}, 1:{b64(old)}",
            "DZDESK_MASTER_KEY": b64(os.urandom(32)),
        }
    )
    assert ring.versions == [2, 1] and ring.current_version == 2
    assert ring.current.key_id == MasterKey(new).key_id


def test_the_current_version_wraps_and_an_older_one_still_unwraps_what_it_wrapped(raw_keys):
    new, old = raw_keys
    tenant, subject, data_key = str(uuid.uuid4()), str(uuid.uuid4()), new_data_key()
    old_ring = MasterKeyRing([(1, MasterKey(old))])
    version, wrapped = old_ring.wrap(data_key, tenant, subject)
    ring = MasterKeyRing([(2, MasterKey(new)), (1, MasterKey(old))])
    assert version == 1 and ring.unwrap(wrapped, tenant, subject, version) == data_key
    assert ring.wrap(data_key, tenant, subject)[0] == 2


def test_a_key_wrapped_before_versions_is_found_by_its_master_key_id(raw_keys):
    new, old = raw_keys
    tenant, subject, data_key = str(uuid.uuid4()), str(uuid.uuid4()), new_data_key()
    wrapped = MasterKey(old).wrap(data_key, tenant, subject)
    ring = MasterKeyRing([(2, MasterKey(new)), (1, MasterKey(old))])
    assert ring.unwrap(wrapped, tenant, subject, None, MasterKey(old).key_id) == data_key
    assert ring.unwrap(wrapped, tenant, subject) == data_key


def test_once_a_version_is_dropped_what_it_wrapped_cannot_be_opened(raw_keys):
    new, old = raw_keys
    tenant, subject = str(uuid.uuid4()), str(uuid.uuid4())
    _, wrapped = MasterKeyRing([(1, MasterKey(old))]).wrap(new_data_key(), tenant, subject)
    retired = MasterKeyRing([(2, MasterKey(new))])
    with pytest.raises(MasterKeyError, match="version 1 is not configured"):
        retired.unwrap(wrapped, tenant, subject, 1)
    with pytest.raises(CipherError):
        retired.unwrap(wrapped, tenant, subject)


@pytest.mark.parametrize(
    "value, says",
    [
        ("nope", "<version>:<base64>"),
        ("x:AAAA", "<version>:<base64>"),
        ("2:not-base64!", "version 2"),
        ("2:" + b64(b"short"), "version 2"),
    ],
)
def test_a_malformed_key_list_is_refused_with_a_message_and_no_key_material(value, says):
    with pytest.raises(MasterKeyError, match=says) as caught:
        MasterKeyRing.from_config({"DZDESK_MASTER_KEYS": value})
    assert "not-base64" not in str(caught.value)


def test_a_version_or_a_key_listed_twice_is_refused(raw_keys):
    one, two = raw_keys
    with pytest.raises(MasterKeyError, match="distinct"):
        MasterKeyRing.from_config({"DZDESK_MASTER_KEYS": f"1:{b64(one)},1:{b64(two)}"})
    with pytest.raises(MasterKeyError, match="two versions"):
        MasterKeyRing.from_config({"DZDESK_MASTER_KEYS": f"2:{b64(one)},1:{b64(one)}"})


def test_no_master_key_at_all_is_refused():
    with pytest.raises(MasterKeyError, match="DZDESK_MASTER_KEY"):
        MasterKeyRing.from_config({})
