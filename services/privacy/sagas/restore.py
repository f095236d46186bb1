"""Erasure survives a restore: keys the audit log saw shredded are shredded again before any
is served.

A privacy database restored from a backup taken before an erasure holds that subject's key
again, and with it every ciphertext copy in every service becomes readable. The audit log,
outside this database, records every `privacy.subject_key_shredded`. On start, and every
PRIVACY_RECONCILE_SECONDS after, privacy reads that record from audit (RPC, in pages across
tenants) and shreds any key still live here. Until the first pass since start has succeeded,
privacy hands out no subject key and no export, and drives no saga: it fails closed.
"""

import eventlet
import eventlet.hubs
import psycopg
import structlog

from services.privacy import store
from services.privacy.sagas.participants import ParticipantLoop
from services.privacy.subjects import shred_subject
from shared.envelope import system_actor
from shared.errors import KeysNotReconciled

log = structlog.get_logger()
ACTOR = system_actor("privacy.restore")


class ReconcileFailed(Exception):
    """The audit log could not be read; the pass is tried again."""


class ShredReconciler(ParticipantLoop):
    """Injects itself: `require_reconciled()` guards whatever would hand out a subject's data."""

    idle_interval = 0.5  # the first retry when audit does not answer yet
    pool_name = "privacy-restore"

    def setup(self):
        super().setup()
        self.interval = self.settings.privacy_reconcile_seconds
        self.page = self.settings.privacy_reconcile_page
        # 0 turns the check off (tests without an audit service); never in production
        self.reconciled = self.interval <= 0
        self.retry = self.idle_interval

    def start(self):
        if self.interval > 0:
            super().start()

    def run_once(self):
        try:
            shredded = self.reconcile()
        except ReconcileFailed:
            log.warning("restore check: the audit log did not answer; trying again")
            self.retry = min(self.retry * 2, self.max_backoff)
            return self.retry
        self.retry = self.idle_interval
        if shredded:
            log.warning(
                "keys of erased subjects were live again (a restored database?): shredded",
                count=shredded,
            )
        self.reconciled = True
        return self.interval

    def reconcile(self):
        """One pass over the audit log's record; returns how many keys were shredded again."""
        shredded, after = 0, None
        with psycopg.connect(self.settings.system_database_url, autocommit=True) as system:
            while True:
                ((ok, result),) = self.caller.call_all(
                    [("audit", "shredded_subjects", (after, self.page))]
                )
                if not ok:
                    raise ReconcileFailed(f"the audit log did not answer: {result}")
                for tenant_id, subject_id in store.live_keys(system, result["subjects"]):
                    with self.transaction(tenant_id) as conn:
                        shredded += shred_subject(
                            conn, self.master_keys, tenant_id, subject_id, ACTOR
                        )
                after = result["next"]
                if after is None:
                    return shredded

    def require_reconciled(self, patience=5.0):
        """Wait a little for the first pass since start; 503 when it has not succeeded yet."""
        hub = eventlet.hubs.get_hub()
        deadline = hub.clock() + patience
        while not self.reconciled:
            if hub.clock() > deadline:
                raise KeysNotReconciled(
                    "privacy is checking its keys against the audit log; try again shortly"
                )
            eventlet.sleep(0.05)


def reconciled(container):
    """Whether the container's reconciler (if it has one) has finished its first pass."""
    return all(d.reconciled for d in container.dependencies if isinstance(d, ShredReconciler))
