"""Signing keys in the database: one platform-wide key ring, private keys sealed, rotation
under a lock, and the JWK Set published from it."""

from services.identity.tokens import KeyRing, SigningKey, jwks
from shared.envelope import PLATFORM_TENANT

# Rotations and the first start of several instances must not build two key rings.
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('dzdesk.identity.signing_keys'))"


def _read(conn, vault) -> list[SigningKey]:
    rows = conn.execute(
        "SELECT kid, state, created_at, retired_at, sealed_key FROM signing_keys"
        " ORDER BY created_at, kid"
    ).fetchall()
    return [
        SigningKey.from_private_bytes(
            kid, vault.open_signing_key(kid, bytes(sealed)), created_at, state, retired_at
        )
        for kid, state, created_at, retired_at, sealed in rows
    ]


def _write(conn, vault, ring: KeyRing) -> None:
    kids = [key.kid for key in ring.keys]
    conn.execute("DELETE FROM signing_keys WHERE NOT (kid = ANY(%s))", (kids,))
    for key in ring.keys:
        conn.execute(
            "INSERT INTO signing_keys (tenant_id, kid, state, created_at, retired_at, sealed_key)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, kid) DO UPDATE"
            " SET state = excluded.state, retired_at = excluded.retired_at",
            (
                PLATFORM_TENANT,
                key.kid,
                key.state,
                key.created_at,
                key.retired_at,
                vault.seal_signing_key(key.kid, key.private_bytes()),
            ),
        )


def load_ring(conn, vault, now) -> KeyRing:
    """The key ring; the first caller ever creates it (current and next key)."""
    keys = _read(conn, vault)
    if keys:
        return KeyRing(tuple(keys))
    conn.execute(_LOCK)
    keys = _read(conn, vault)
    if keys:
        return KeyRing(tuple(keys))
    ring = KeyRing.bootstrap(now)
    _write(conn, vault, ring)
    return ring


def rotate(conn, vault, now, retention, *, only_if_due_after=None) -> tuple[KeyRing, bool]:
    """Promote next to current, retire current, add a fresh next key; drop keys no token needs.

    With ``only_if_due_after`` the ring rotates only once its next key has been published that
    long, so every verifier's cache has fetched it before it signs anything.
    """
    load_ring(conn, vault, now)
    conn.execute(_LOCK)
    ring = KeyRing(tuple(_read(conn, vault)))
    if only_if_due_after is not None and ring.next.created_at + only_if_due_after > now:
        return ring, False
    ring = ring.rotate(now).prune(now, retention)
    _write(conn, vault, ring)
    return ring, True


def published(conn, vault, now, retention) -> dict:
    """The JWK Set: next, current and retired keys whose tokens may still be alive."""
    return jwks(load_ring(conn, vault, now).published(now, retention))


class KeySet:
    """The key set TokenVerifier consults, read from identity's own database, not over HTTP."""

    def __init__(self, document: dict):
        self._keys = {key["kid"]: key for key in document["keys"]}

    def jwk(self, kid: str) -> dict:
        return self._keys[kid]

    def close(self) -> None:
        pass
