"""The hash chain: how entries are built and what verification reports for each tampering."""

import hashlib
import itertools
import uuid
import weakref

import pytest

from services.audit.chain import GENESIS_HASH, ChainBuilder, Entry, canonical_json, entry_hash
from services.audit.signing import generate_private_key
from services.audit.verification import MalformedEntry, verify_chain


def _rehashed(entries):
    """What a careful forger does after editing: recompute every link from the first entry on."""
    builder = ChainBuilder(entries[0].seq - 1, entries[0].prev_hash)
    return [builder.append(entry.envelope) for entry in entries]


def _altered(entry):
    envelope = {**entry.envelope, "data": {**entry.envelope["data"], "priority": "p1"}}
    return entry._replace(envelope=envelope)


def test_the_first_entry_hashes_the_canonical_envelope_after_the_genesis_hash(build_log):
    first = build_log(1)[0]

    expected = hashlib.sha256(bytes(32) + canonical_json(first.envelope)).hexdigest()
    assert (first.seq, first.prev_hash, first.hash) == (1, GENESIS_HASH, expected)


def test_each_entry_links_to_the_hash_of_the_one_before(build_log):
    log = build_log(3)

    assert [entry.prev_hash for entry in log[1:]] == [entry.hash for entry in log[:-1]]
    assert log[2].hash == entry_hash(log[1].hash, log[2].envelope)


def test_a_builder_started_from_a_stored_head_continues_the_same_chain(build_log):
    log = build_log(4)

    resumed = ChainBuilder(log[1].seq, log[1].hash)

    assert [resumed.append(entry.envelope) for entry in log[2:]] == log[2:]


def test_an_intact_log_verifies_with_its_head_and_checkpoints(build_log, sign, public_keys):
    log = build_log(10)

    result = verify_chain(log, [sign(log[3]), sign(log[9])], public_keys)

    assert result.as_dict() == {
        "ok": True,
        "entries": 10,
        "head": {"seq": 10, "hash": log[9].hash},
        "checkpoints_verified": 2,
        "first_bad_seq": None,
        "reason": None,
    }


def test_an_empty_log_without_checkpoints_is_ok_with_no_head():
    assert verify_chain([], [], {}).as_dict() == {
        "ok": True,
        "entries": 0,
        "head": None,
        "checkpoints_verified": 0,
        "first_bad_seq": None,
        "reason": None,
    }


def test_an_altered_entry_is_named_by_its_seq(build_log, public_keys):
    log = build_log(8)
    log[4] = _altered(log[4])

    result = verify_chain(log, [], public_keys)

    assert (result.ok, result.first_bad_seq, result.entries) == (False, 5, 4)
    assert "altered" in result.reason


def test_a_deleted_entry_is_named_by_the_missing_seq(build_log, public_keys):
    log = build_log(8)
    del log[5]

    result = verify_chain(log, [], public_keys)

    assert (result.ok, result.first_bad_seq, result.head["seq"]) == (False, 6, 5)
    assert "missing" in result.reason


def test_a_deleted_entry_with_later_seqs_renumbered_is_named_by_the_broken_link(
    build_log, public_keys
):
    log = build_log(8)
    renumbered = log[:3] + [entry._replace(seq=entry.seq - 1) for entry in log[4:]]

    result = verify_chain(renumbered, [], public_keys)

    assert (result.ok, result.first_bad_seq) == (False, 4)


def test_a_rehashed_tail_is_caught_by_the_next_checkpoint_from_after_the_last_good_one(
    build_log, sign, public_keys
):
    log = build_log(12)
    checkpoints = [sign(log[2]), sign(log[5]), sign(log[9])]
    forged = log[:7] + _rehashed([_altered(log[7])] + log[8:])

    result = verify_chain(forged, checkpoints, public_keys)

    assert (result.ok, result.first_bad_seq, result.checkpoints_verified) == (False, 7, 2)
    assert "checkpoint at seq 10" in result.reason


def test_a_rehashed_log_before_any_good_checkpoint_is_untrusted_from_seq_1(
    build_log, sign, public_keys
):
    log = build_log(6)
    checkpoint = sign(log[4])
    forged = _rehashed([_altered(log[0])] + log[1:])

    result = verify_chain(forged, [checkpoint], public_keys)

    assert (result.ok, result.first_bad_seq) == (False, 1)


def test_a_rehashed_tail_after_the_last_checkpoint_goes_unnoticed(build_log, sign, public_keys):
    """Documents the limit: entries newer than the latest checkpoint are vouched by no signature."""
    log = build_log(6)
    forged = log[:4] + _rehashed([_altered(log[4]), log[5]])

    assert verify_chain(forged, [sign(log[3])], public_keys).ok


def test_a_checkpoint_beyond_the_end_reveals_a_truncated_log(build_log, sign, public_keys):
    log = build_log(9)
    checkpoints = [sign(log[2]), sign(log[8])]

    result = verify_chain(log[:6], checkpoints, public_keys)

    assert (result.ok, result.first_bad_seq, result.entries) == (False, 7, 6)
    assert "truncated" in result.reason


def test_a_log_emptied_below_a_checkpoint_is_untrusted_from_seq_1(build_log, sign, public_keys):
    log = build_log(3)

    result = verify_chain([], [sign(log[2])], public_keys)

    assert (result.ok, result.first_bad_seq) == (False, 1)


def test_a_checkpoint_with_a_bad_signature_fails_verification_without_blaming_entries(
    build_log, sign, public_keys, key_id
):
    log = build_log(5)
    forged = sign(log[4], key=generate_private_key(), kid=key_id)

    result = verify_chain(log, [sign(log[1]), forged], public_keys)

    assert (result.ok, result.first_bad_seq, result.checkpoints_verified) == (False, None, 1)
    assert "invalid signature" in result.reason


def test_a_checkpoint_signed_by_an_unknown_key_fails_verification(build_log, sign, public_keys):
    log = build_log(3)

    result = verify_chain(log, [sign(log[2], kid="someone-else")], public_keys)

    assert not result.ok and "unknown key" in result.reason


def test_a_checkpoint_of_another_tenant_fails_verification(build_log, sign, public_keys):
    log = build_log(3)

    result = verify_chain(log, [sign(log[2], tenant=str(uuid.uuid4()))], public_keys)

    assert (result.ok, result.checkpoints_verified) == (False, 0)
    assert "tenant" in result.reason


def test_a_segment_anchored_by_a_checkpoint_at_the_seq_before_it_verifies(
    build_log, sign, public_keys
):
    log = build_log(10)

    result = verify_chain(log[4:], [sign(log[3]), sign(log[7])], public_keys)

    assert (result.ok, result.entries, result.checkpoints_verified) == (True, 6, 2)


def test_a_segment_without_an_anchoring_checkpoint_is_missing_its_beginning(build_log, public_keys):
    log = build_log(10)

    result = verify_chain(log[4:], [], public_keys)

    assert (result.ok, result.first_bad_seq, result.entries) == (False, 1, 0)


def test_entries_may_be_mappings_with_binary_hashes(build_log, public_keys):
    log = build_log(3)
    rows = [
        {
            "seq": e.seq,
            "envelope": e.envelope,
            "prev_hash": bytes.fromhex(e.prev_hash),
            "hash": bytes.fromhex(e.hash),
        }
        for e in log
    ]

    assert verify_chain(rows, [], public_keys).ok


def test_an_entry_without_an_envelope_is_malformed_input(build_log, public_keys):
    rows = [{"seq": 1, "prev_hash": GENESIS_HASH, "hash": GENESIS_HASH}]

    with pytest.raises(MalformedEntry):
        verify_chain(rows, [], public_keys)


def test_verification_stops_reading_at_the_first_broken_entry(build_log, public_keys):
    log = build_log(3)
    endless = itertools.chain(log, (Entry(4, "f" * 64, "f" * 64, {}) for _ in itertools.count()))

    assert verify_chain(endless, [], public_keys).first_bad_seq == 4


def test_verification_holds_no_entry_once_it_moved_past_it(tenant_id, public_keys):
    # a count of live entries, not a memory figure (that one is in bench/): a verifier that
    # kept what it read would hold them all by the end of the log
    class Envelope(dict):
        pass  # a dict that can be weakly referenced

    seen, most_alive = [], 0

    def lazily(count):
        nonlocal most_alive
        builder = ChainBuilder(0, GENESIS_HASH)
        for number in range(count):
            most_alive = max(most_alive, sum(ref() is not None for ref in seen))
            envelope = Envelope(tenant_id=tenant_id, n=number, text="x" * 500)
            seen.append(weakref.ref(envelope))
            yield builder.append(envelope)

    result = verify_chain(lazily(3000), [], public_keys)

    assert result.entries == 3000
    assert most_alive <= 1
