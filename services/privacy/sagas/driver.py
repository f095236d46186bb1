"""The saga driver: a managed thread that claims due sagas, calls participants, records outcomes.

Each step is two-phase so no transaction stays open during an RPC: (1) lock a due saga with
FOR UPDATE SKIP LOCKED (several privacy processes share the work), perform its local actions,
mark the calls it hands out as awaited and commit together with the events; (2) call the
participants with a timeout; (3) lock the saga again and record the outcomes. A process that
dies between (1) and (3) leaves calls awaited; the receipt timeout turns them into retries.
"""

import eventlet
import eventlet.hubs
import psycopg

from services.privacy import store
from services.privacy.sagas.base import DEADLINE
from services.privacy.sagas.kinds import SAGAS, load_saga
from services.privacy.sagas.participants import ParticipantLoop
from services.privacy.sagas.restore import reconciled
from services.privacy.sagas.steps import Step
from shared import metrics
from shared.envelope import utcnow


class SagaDriver(ParticipantLoop):
    pool_name = "privacy-sagas"

    def setup(self):
        super().setup()
        self.interval = self.settings.privacy_saga_poll_seconds
        self.idle_interval = self.interval
        self.system = None

    def run_once(self):
        self.report_deadlines()
        if not reconciled(self.container):
            return self.interval  # a restored database may hold keys the audit log saw shredded
        return 0 if self.advance_due() else self.interval

    def reset(self):
        if self.system is not None:
            try:
                self.system.close()
            except Exception:
                pass
        self.system = None

    def system_conn(self):
        if self.system is None:
            self.system = psycopg.connect(self.settings.system_database_url, autocommit=True)
        return self.system

    def report_deadlines(self):
        """Seconds left before each request type's earliest deadline; no series while none of
        the type is active. A deadline is requested_at + DEADLINE and a request's created_at
        is its submitting transaction's start, at most milliseconds before: never late."""
        submitted = store.earliest_submissions(self.system_conn())
        service, now = self.container.service_name, utcnow()
        for kind in SAGAS:
            if kind in submitted:
                left = submitted[kind] + DEADLINE - now
                metrics.PRIVACY_REQUEST_DEADLINE.labels(service, kind).set(left.total_seconds())
            else:
                try:
                    metrics.PRIVACY_REQUEST_DEADLINE.remove(service, kind)
                except KeyError:
                    pass  # none was reported

    def advance_due(self):
        """Advance every saga due now; returns how many moved."""
        return sum(
            self.step(tenant_id, request_id)
            for tenant_id, request_id in store.due_requests(self.system_conn())
        )

    def step(self, tenant_id, request_id):
        with self.transaction(tenant_id) as conn:
            loaded = store.load_request(conn, request_id, lock="skip")
            if loaded is None:
                return False  # another privacy process holds it, or it is no longer due
            step = self._step(conn, loaded)
            calls = step.advance()
            self._save(conn, step)
        if not calls:
            return True
        if self._caches_may_hold_key(step.saga, calls):
            outcomes = [(False, "key shredding not yet announced to every service")] * len(calls)
        else:
            outcomes = self.caller.call_all(
                [(name, method, args) for name, method, args, _ in calls]
            )
        with self.transaction(tenant_id) as conn:
            step = self._step(conn, store.load_request(conn, request_id, lock="wait"))
            for (name, method, _, attempt), (ok, result) in zip(calls, outcomes):
                step.record(name, method, attempt, ok, result)
            self._save(conn, step)
        return True

    def _caches_may_hold_key(self, saga, calls, patience=5.0):
        """True while privacy.subject_key_shredded is not yet published: a participant purging
        before its key cache heard of the shredding would still read the subject's data."""
        if not any(method == "purge_subject" for _, method, _, _ in calls):
            return False
        deadline = eventlet.hubs.get_hub().clock() + patience
        while store.shred_unpublished(self.system_conn(), saga.tenant_id, saga.subject_id):
            if eventlet.hubs.get_hub().clock() > deadline:
                return True
            eventlet.sleep(0.01)
        return False

    def _step(self, conn, loaded):
        saga, pii, export_key = loaded
        return Step(conn, load_saga(saga, self.settings), pii, export_key, self.master_keys)

    @staticmethod
    def _save(conn, step):
        store.save_request(conn, step.saga, step.saga.next_wakeup(), clear_pii=step.clear_pii)
