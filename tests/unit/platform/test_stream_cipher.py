"""The streamed, chunked AES-GCM of files (shared/stream_cipher.py): round trips of any size in
any pieces, and every tampering, reordering, truncation or move refused."""

import os

import pytest

from shared.crypto import CipherError
from shared.stream_cipher import (
    CHUNK_BYTES,
    HEADER_BYTES,
    SEALED_CHUNK_BYTES,
    StreamOpener,
    StreamSealer,
    open_stream,
    seal_stream,
    sealed_size,
)

KEY = os.urandom(32)
CONTEXT = ("tenant-1", "subject-1", "blob-1")


def sealed(data, pieces=CHUNK_BYTES, key=KEY, context=CONTEXT):
    parts = [data[i : i + pieces] for i in range(0, len(data), pieces)]
    return b"".join(seal_stream(key, context, parts))


def opened(blob, pieces=7_777, key=KEY, context=CONTEXT):
    return b"".join(
        open_stream(key, context, [blob[i : i + pieces] for i in range(0, len(blob), pieces)])
    )


@pytest.mark.parametrize(
    "size", [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES, 200_001]
)
def test_a_stream_of_any_size_opens_to_what_was_sealed(size):
    data = os.urandom(size)
    blob = sealed(data, pieces=1000)
    assert len(blob) == sealed_size(size)
    assert opened(blob) == data


def test_the_same_plaintext_seals_differently_each_time():
    data = b"x" * 1000
    assert sealed(data) != sealed(data)


def test_sealing_holds_at_most_a_chunk_back():
    sealer = StreamSealer(KEY, CONTEXT)
    assert sealer.update(b"a" * CHUNK_BYTES) == b""  # is more coming? not known yet
    assert len(sealer.update(b"b")) == SEALED_CHUNK_BYTES


def test_a_flipped_bit_anywhere_is_refused():
    blob = bytearray(sealed(os.urandom(2 * CHUNK_BYTES + 10)))
    for position in (1, HEADER_BYTES + 5, HEADER_BYTES + SEALED_CHUNK_BYTES + 3, len(blob) - 1):
        tampered = bytearray(blob)
        tampered[position] ^= 1
        with pytest.raises(CipherError):
            opened(bytes(tampered))


def test_a_stream_cut_at_a_chunk_boundary_is_refused():
    blob = sealed(os.urandom(3 * CHUNK_BYTES))
    for chunks in (1, 2):
        with pytest.raises(CipherError):
            opened(blob[: HEADER_BYTES + chunks * SEALED_CHUNK_BYTES])
    with pytest.raises(CipherError):
        opened(blob[: HEADER_BYTES + 5])
    with pytest.raises(CipherError):
        opened(blob[:-1])


def test_reordered_or_dropped_chunks_are_refused():
    blob = sealed(os.urandom(3 * CHUNK_BYTES + 100))
    header, body = blob[:HEADER_BYTES], blob[HEADER_BYTES:]
    chunks = [body[i : i + SEALED_CHUNK_BYTES] for i in range(0, len(body), SEALED_CHUNK_BYTES)]
    swapped = [chunks[1], chunks[0], *chunks[2:]]
    dropped = [chunks[0], *chunks[2:]]
    for order in (swapped, dropped):
        with pytest.raises(CipherError):
            opened(header + b"".join(order))


def test_a_stream_opens_only_under_its_own_key_and_context():
    blob = sealed(b"the quarterly figures")
    with pytest.raises(CipherError):
        opened(blob, key=os.urandom(32))
    with pytest.raises(CipherError):
        opened(blob, context=("tenant-1", "subject-1", "blob-2"))
    with pytest.raises(CipherError):
        opened(blob, context=("tenant-2", "subject-1", "blob-1"))


def test_an_opener_fed_nothing_is_truncated():
    with pytest.raises(CipherError):
        StreamOpener(KEY, CONTEXT).finalize()
