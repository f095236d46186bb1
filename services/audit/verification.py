"""Verifying a tenant's chain in constant memory: entries recomputed, checkpoints checked."""

import dataclasses
import json
from collections.abc import Mapping
from hashlib import sha256

from services.audit.chain import GENESIS_DIGEST, canonical_json
from services.audit.checkpoints import Checkpoint, as_public_key, verify_checkpoint


class MalformedEntry(ValueError):
    """An entry that cannot be read at all (missing field, wrong type): bad input, not tampering."""


@dataclasses.dataclass(frozen=True)
class VerifyResult:
    """The outcome of `verify_chain`.

    `entries` counts the entries that passed every check before verification stopped, `head`
    is the last of them (`{"seq", "hash"}`, None when there is none), `checkpoints_verified`
    counts signed checkpoints whose signature is valid and whose hash equals the chain's at
    their seq, `first_bad_seq` is the earliest seq the log cannot be trusted from (None when
    the entries are sound), and `reason` says why in words (None when ok).
    """

    ok: bool
    entries: int
    head: dict | None
    checkpoints_verified: int
    first_bad_seq: int | None
    reason: str | None

    def as_dict(self):
        return dataclasses.asdict(self)


def _digest(value):
    """32 hash bytes from bytea (bytes) or hex text; None when it is neither (never matches)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        try:
            return bytes.fromhex(value)
        except ValueError:
            return None
    raise TypeError


def _fields(entry, position):
    """(seq, prev digest, stored digest, envelope mapping or canonical bytes) of one entry."""
    if (
        type(entry) is tuple
        and len(entry) == 4
        and type(entry[3]) is bytes
        and type(entry[1]) is bytes
        and type(entry[2]) is bytes
        and type(entry[0]) is int
    ):
        return entry  # a stored row as the audit service reads it: nothing to convert
    try:
        if isinstance(entry, Mapping):
            seq, prev_hash = entry["seq"], entry["prev_hash"]
            stored_hash, envelope = entry["hash"], entry["envelope"]
        else:
            seq, prev_hash, stored_hash, envelope = (
                entry.seq,
                entry.prev_hash,
                entry.hash,
                entry.envelope,
            )
    except (KeyError, AttributeError) as error:
        raise MalformedEntry(f"entry #{position} lacks {error}") from error
    try:
        prev_digest, stored_digest = _digest(prev_hash), _digest(stored_hash)
    except TypeError:
        prev_digest = None
        seq = None  # reported below
    if isinstance(envelope, (bytearray, memoryview)):
        envelope = bytes(envelope)
    if type(seq) is not int or not isinstance(envelope, (Mapping, bytes)):
        raise MalformedEntry(
            f"entry #{position} needs an integer seq, an object envelope (or "
            "its canonical bytes) and hex or binary prev_hash and hash"
        )
    return seq, prev_digest, stored_digest, envelope


def _tenant_of(envelope):
    if type(envelope) is bytes:
        try:
            envelope = json.loads(envelope)
        except ValueError:
            return None
        if not isinstance(envelope, dict):
            return None
    return envelope.get("tenant_id")


def _trusted(checkpoints, public_keys):
    """Checkpoints with valid signatures sorted by seq, and the first problem with any other."""
    keys = {key_id: as_public_key(key) for key_id, key in public_keys.items()}
    trusted, problems = [], []
    for checkpoint in checkpoints:
        if isinstance(checkpoint, Mapping):
            checkpoint = Checkpoint.from_dict(checkpoint)
        key = keys.get(checkpoint.key_id)
        if key is None:
            problems.append(
                (
                    checkpoint.seq,
                    f"checkpoint at seq {checkpoint.seq} is signed "
                    f"with unknown key {checkpoint.key_id!r}",
                )
            )
        elif not verify_checkpoint(checkpoint, key):
            problems.append(
                (checkpoint.seq, f"checkpoint at seq {checkpoint.seq} has an invalid signature")
            )
        else:
            trusted.append(checkpoint)
    trusted.sort(key=lambda checkpoint: checkpoint.seq)
    return trusted, (min(problems)[1] if problems else None)


def verify_chain(entries, checkpoints, public_keys, *, tenant_id=None):
    """Recompute a tenant's chain in seq order, in constant memory, against signed checkpoints.

    `entries` yields objects or mappings with `seq`, `prev_hash`, `hash` and `envelope` (a
    mapping, or its canonical bytes as stored, which are then hashed as they are), or stored
    rows as plain `(seq, prev_hash, hash, canonical)` tuples of int and bytes;
    `public_keys` maps key ids to keys (see `as_public_key`). The tenant is `tenant_id` or the
    first envelope's. `first_bad_seq` names:
    - an altered entry (stored hash differs from the recomputed one): its seq;
    - a deleted entry (a gap in seq, or a prev_hash that is not the previous entry's hash): the
      first missing seq (the seq at which the broken link was found);
    - a consistent but re-hashed chain (a signed checkpoint's hash differs from the chain at its
      seq): the seq right after the last checkpoint that still matched (1, or the anchor's seq + 1,
      when none did), i.e. the earliest entry no valid signature vouches for any more; the
      alteration lies between that seq and the failing checkpoint's;
    - a truncated log (a signed checkpoint beyond its last entry): the seq after the last entry;
    - a log that does not begin at seq 1: 1, unless a signed checkpoint at the seq before its
      first entry carries that entry's prev_hash (then the segment is anchored there).
    A checkpoint with an invalid signature or an unknown key makes the result not ok with that
    reason, while the chain is still checked against the valid ones (first_bad_seq stays None
    when the entries themselves are sound). Verification stops at the first broken entry.
    Raises `MalformedEntry` for an unreadable entry and `InvalidCheckpoint` for a bad key.
    """
    return verify_pages(_pages(entries), checkpoints, public_keys, tenant_id=tenant_id)


def _pages(entries, size=100):
    """Entries as lists of stored-row tuples, converted as `verify_pages` needs them.

    An entry that cannot be converted ends its page; its error is raised only when the next
    page is asked for, so every entry before it is verified first (verification stops at the
    first bad entry, whichever kind of bad it is).
    """
    page = []
    for position, entry in enumerate(entries, start=1):
        try:
            seq, prev_hash, stored_hash, envelope = _fields(entry, position)
            if type(envelope) is not bytes:
                envelope = canonical_json(envelope)
        except Exception:
            if page:
                yield page
            raise
        page.append((seq, prev_hash, stored_hash, envelope))
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page


def verify_pages(pages, checkpoints, public_keys, *, tenant_id=None):
    """`verify_chain` over entries already in stored form: `pages` yields lists of
    `(seq, prev_hash, hash, canonical)` tuples, seq an int, the others bytes. The audit
    service's own reader yields exactly this; the loop below is the whole cost of verification
    besides reading, so it stays flat."""
    pending, checkpoint_problem = _trusted(checkpoints, public_keys)
    tenant = None if tenant_id is None else str(tenant_id)
    verified, first_seq, check_tenant = 0, None, False
    vouched = expected = suffix = None
    prev_digest, next_index = GENESIS_DIGEST, 0
    # the next checkpoint's seq, kept in a local: the loop below runs once per entry
    due = pending[0].seq if pending else None

    def result(first_bad_seq=None, reason=None):
        reasons = [text for text in (reason, checkpoint_problem) if text]
        count = 0 if expected is None else expected - first_seq
        head = {"seq": expected - 1, "hash": prev_digest.hex()} if count else None
        return VerifyResult(
            ok=not reasons,
            entries=count,
            head=head,
            checkpoints_verified=verified,
            first_bad_seq=first_bad_seq,
            reason="; ".join(reasons) or None,
        )

    for page in pages:
        for seq, prev_hash, stored_hash, envelope in page:
            if expected is None:
                if tenant is None:
                    tenant = _tenant_of(envelope)
                check_tenant = tenant is not None
                suffix = f'"tenant_id":{json.dumps(tenant)}}}'.encode()
                foreign = [cp for cp in pending if check_tenant and cp.tenant_id != tenant]
                if foreign:
                    checkpoint_problem = checkpoint_problem or (
                        f"checkpoint at seq {foreign[0].seq} is for tenant "
                        f"{foreign[0].tenant_id}, not {tenant}"
                    )
                    pending = [cp for cp in pending if cp not in foreign]
                expected = first_seq = 1
                vouched = 0
                if seq != 1:
                    anchor = next(
                        (
                            cp
                            for cp in pending
                            if cp.seq == seq - 1
                            and prev_hash is not None
                            and cp.hash == prev_hash.hex()
                        ),
                        None,
                    )
                    if anchor is None:
                        return result(
                            1,
                            f"the log starts at seq {seq}: entries before it are "
                            "missing and no signed checkpoint anchors it",
                        )
                    expected = first_seq = seq
                    vouched, verified = anchor.seq, 1
                    prev_digest = prev_hash
                    pending = [cp for cp in pending if cp.seq > anchor.seq]
                due = pending[0].seq if pending else None
            if seq != expected:
                return result(
                    expected, f"entry seq {expected} is missing (next entry has seq {seq})"
                )
            if prev_hash != prev_digest:
                return result(
                    seq,
                    f"entry seq {seq} does not link to the hash of entry seq "
                    f"{seq - 1}: an entry was removed or altered",
                )
            # two updates rather than concatenating: the canonical bytes are never copied
            hasher = sha256(prev_digest)
            hasher.update(envelope)
            digest = hasher.digest()
            if digest != stored_hash:
                return result(seq, f"entry seq {seq} does not match its hash: it was altered")
            # canonical bytes end with the tenant when no field sorts after tenant_id, which
            # spares parsing nearly every entry
            if check_tenant and not envelope.endswith(suffix) and _tenant_of(envelope) != tenant:
                return result(seq, f"entry seq {seq} belongs to another tenant")
            prev_digest, expected = digest, expected + 1
            while seq == due:
                if pending[next_index].hash != digest.hex():
                    return result(
                        vouched + 1,
                        f"signed checkpoint at seq {seq} does not match "
                        f"the log: entries after seq {vouched} were "
                        "rewritten",
                    )
                verified, vouched, next_index = verified + 1, seq, next_index + 1
                due = pending[next_index].seq if next_index < len(pending) else None
    if next_index < len(pending):
        end = 0 if expected is None else expected - 1
        return result(
            end + 1,
            f"signed checkpoint at seq {pending[next_index].seq} is beyond "
            f"the end of the log (last seq {end}): the log was truncated",
        )
    return result()
