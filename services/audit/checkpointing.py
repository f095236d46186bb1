"""Signing tenant chain heads: on demand and at an interval, each announced by an event.

`audit.checkpoint_signed` is the only event audit emits about itself; it carries seq, hash,
key id and signature, nothing personal. Audit consumes its own exchange like any other, so
that event is appended to the tenant's chain too. It must not cause another checkpoint, or an
idle tenant would be signed forever: the scheduler signs a tenant only when an entry other
than audit's own checkpoint events lies beyond its last checkpoint.
"""

import eventlet
import psycopg
import structlog
from nameko.extensions import DependencyProvider

from services.audit import store
from services.audit.exceptions import EmptyLog
from services.audit.signing import load_signer
from shared import eventstore
from shared.envelope import Envelope, system_actor

log = structlog.get_logger()

STREAM = "audit-checkpoints"
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('dzdesk.audit.checkpoint'), hashtext(%s))"


def sign_head(conn, signer, tenant_id, correlation_id=None):
    """Sign the tenant's current head in the open transaction.

    Returns (checkpoint dict, True) when a checkpoint was made and its event put in the
    outbox, or (the existing one, False) when the head is already signed. Raises EmptyLog.
    """
    tenant_id = str(tenant_id)
    store.use_tenant(conn, tenant_id)
    conn.execute(_LOCK, (tenant_id,))
    seq, digest = store.head(conn, tenant_id)
    if seq == 0:
        raise EmptyLog("the tenant's audit log has no entries yet")
    latest = store.latest_checkpoint(conn, tenant_id)
    if latest is not None and latest["seq"] >= seq:
        return latest, False
    checkpoint = signer.sign(tenant_id, seq, digest.hex())
    store.insert_checkpoint(conn, checkpoint)
    body = checkpoint.to_dict()
    data = {name: body[name] for name in ("seq", "hash", "key_id", "signature", "signed_at")}
    event = Envelope.new(
        store.CHECKPOINT_EVENT,
        tenant_id,
        STREAM,
        data,
        actor=system_actor("audit"),
        correlation_id=correlation_id,
    )
    eventstore.append(conn, STREAM, eventstore.current_version(conn, tenant_id, STREAM), [event])
    return body, True


class Checkpointing(DependencyProvider):
    """Loads the signing key at start, signs moved chains every AUDIT_CHECKPOINT_INTERVAL
    seconds (0 turns the schedule off), and injects the Signer for on-demand checkpoints."""

    def setup(self):
        config = self.container.config
        self.interval = float(config.get("AUDIT_CHECKPOINT_INTERVAL", 300))
        self.signer, self.thread, self.running = None, None, False

    def start(self):
        with psycopg.connect(self.container.config["DATABASE_URL"]) as conn:
            self.signer = load_signer(conn, self.container.config)
        log.info("audit signing key loaded", key_id=self.signer.key_id)
        if self.interval > 0:
            self.running = True
            self.thread = self.container.spawn_managed_thread(self._loop)

    def stop(self):
        self.running = False
        if self.thread is not None:
            self.thread.kill()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self.signer

    def _loop(self):
        while self.running:
            eventlet.sleep(self.interval)
            try:
                self.sign_moved_chains()
            except Exception:
                log.exception("scheduled audit checkpoints failed; will try again")

    def sign_moved_chains(self):
        """One scheduled round: a checkpoint for every tenant whose chain moved."""
        config = self.container.config
        with psycopg.connect(config["SYSTEM_DATABASE_URL"], autocommit=True) as system:
            tenants = store.tenants_to_checkpoint(system)
        signed = 0
        with psycopg.connect(config["DATABASE_URL"]) as conn:
            for tenant_id in tenants:
                with conn.transaction():
                    signed += sign_head(conn, self.signer, tenant_id)[1]
        return signed
