"""One saga step inside a tenant transaction: local actions, events, and the calls to make next."""

from services.privacy import exports, store
from services.privacy.keyring import Keyring
from services.privacy.sagas.actions import (
    AssembleBundle,
    Complete,
    EmitReminder,
    Escalate,
    ExpireBundle,
    RequestExport,
    ReviewRequest,
    SendPurge,
    SendRectification,
    ShredKey,
)
from services.privacy.subjects import export_subject, shred_subject
from shared import eventstore
from shared.crypto import ERASED, FieldCipher
from shared.envelope import Envelope, system_actor, utcnow

ACTOR = system_actor("privacy.saga")
# local actions move the saga to a new state; after one, ask the saga again
_TRANSITIONS = (ReviewRequest, ShredKey, AssembleBundle)


def emit(conn, tenant_id, stream_id, name, data, correlation_id=None):
    envelope = Envelope.new(
        f"privacy.{name}", tenant_id, stream_id, data, actor=ACTOR, correlation_id=correlation_id
    )
    eventstore.append_next(conn, stream_id, [envelope])


class Step:
    """Drives one loaded saga with the row locked; `calls` is what to send once committed."""

    def __init__(self, conn, saga, pii, wrapped_export_key, master_keys):
        self.conn, self.saga, self.pii = conn, saga, pii
        self.wrapped_export_key = wrapped_export_key
        self.master_keys = master_keys
        self.clear_pii = False

    def emit(self, name, data):
        saga = self.saga
        emit(
            self.conn,
            saga.tenant_id,
            f"request-{saga.request_id}",
            name,
            {"request_id": saga.request_id, "type": saga.KIND, **data},
            saga.request_id,
        )

    def advance(self, now=None):
        """Perform every local action due now; return [(participant, method, args, attempt)]."""
        calls = []
        for _ in range(6):
            actions = self.saga.next_actions(now or utcnow())
            for action in actions:
                call = self.perform(action, now or utcnow())
                if call:
                    calls.append(call)
            if not any(isinstance(a, _TRANSITIONS) for a in actions):
                break
        return calls

    def perform(self, action, now):
        saga = self.saga
        args = (saga.tenant_id, saga.subject_id)
        if isinstance(action, SendPurge):
            return action.participant, "purge_subject", (*args, saga.request_id), action.attempt
        if isinstance(action, RequestExport):
            return action.participant, "export_subject", args, action.attempt
        if isinstance(action, SendRectification):
            return action.participant, "rectify_subject", (*args, self.changes()), action.attempt
        local = {
            ReviewRequest: self._review,
            ShredKey: self._shred,
            EmitReminder: self._remind,
            Escalate: self._escalate,
            Complete: self._complete,
            AssembleBundle: self._assemble,
            ExpireBundle: self._expire,
        }
        local[type(action)](action, now)
        return None

    def changes(self):
        cipher = FieldCipher(Keyring(self.conn, self.master_keys))
        return cipher.open(self.saga.tenant_id, self.pii)

    def _review(self, action, now):
        saga = self.saga
        holds = store.hold_reasons(self.conn, saga.subject_id) if saga.KIND == "erasure" else []
        saga.review(holds, now)
        if saga.status == "rejected":
            self.emit("request_rejected", {"reason": saga.reason})
        elif saga.status == "blocked":
            self.emit("erasure_blocked", {"subject_id": saga.subject_id, "legal_holds": len(holds)})
        if saga.status == "rectifying" and ERASED in self.changes().values():
            # the subject was erased meanwhile: nothing left to correct, nothing to resend
            saga.status, saga.reason, saga.completed_at = "rejected", "subject erased", now
            self.emit("request_rejected", {"reason": saga.reason})

    def _shred(self, action, now):
        shred_subject(
            self.conn,
            self.master_keys,
            action.tenant_id,
            action.subject_id,
            ACTOR,
            self.saga.request_id,
        )
        self.saga.on_key_shredded(now)

    def _remind(self, action, now):
        self.emit(
            "request_reminder",
            {
                "days_left": action.days_left,
                "deadline": action.deadline.isoformat(),
                "open_participants": self.open_participants(),
            },
        )

    def _escalate(self, action, now):
        self.emit(
            "request_escalated",
            {
                "reason": action.reason,
                "participants": list(action.participants),
                "deadline": action.deadline.isoformat(),
            },
        )

    def _complete(self, action, now):
        saga = self.saga
        data = {
            "subject_id": saga.subject_id,
            "participants": list(saga.participants),
            "completed_at": now.isoformat(),
        }
        self.emit(f"{saga.KIND}_completed", data)
        self.clear_pii = True

    def _assemble(self, action, now):
        saga = self.saga
        key = exports.request_key(
            self.master_keys, saga.tenant_id, saga.request_id, self.wrapped_export_key
        )
        blobs = store.load_parts(self.conn, saga.request_id)
        parts = {
            name: exports.open_part(key, saga.request_id, name, blobs[name])
            for name in action.participants
        }
        parts["privacy"] = export_subject(self.conn, saga.subject_id)
        expires_at = saga.on_assembled(now)
        blob, manifest = exports.assemble(
            key, saga.tenant_id, saga.request_id, saga.subject_id, parts, now
        )
        store.store_bundle(self.conn, saga.request_id, blob, manifest, expires_at)
        self.emit(
            "export_ready",
            {
                "subject_id": saga.subject_id,
                "expires_at": expires_at.isoformat(),
                "files": [{"name": f["name"], "sha256": f["sha256"]} for f in manifest["files"]],
            },
        )

    def _expire(self, action, now):
        store.delete_exports(self.conn, [self.saga.request_id])
        self.emit("export_expired", {})

    def open_participants(self):
        return [p.name for p in self.saga.participants.values() if p.step != "done"]

    def record(self, participant, method, attempt, ok, result, now=None):
        """The outcome of a call made after the claim was committed (stale ones are ignored)."""
        saga, now = self.saga, now or utcnow()
        if not ok:
            saga.on_failure(participant, result, now, attempt=attempt)
            return
        if saga.participants[participant].step == "done":
            return
        if method == "export_subject":
            key = exports.request_key(
                self.master_keys, saga.tenant_id, saga.request_id, self.wrapped_export_key
            )
            store.store_part(
                self.conn,
                saga.request_id,
                participant,
                exports.seal_part(key, saga.request_id, participant, result),
            )
            saga.on_part(participant, now)
            return
        store.record_receipt(self.conn, saga.request_id, participant, attempt, result)
        if method == "purge_subject":
            saga.on_receipt(participant, now)
            self.emit(
                "purge_confirmed",
                {
                    "participant": participant,
                    "attempt": attempt,
                    "purged": result.get("purged", {}),
                },
            )
        else:
            saga.on_rectified(participant, now)
            self.emit("rectification_confirmed", {"participant": participant, "attempt": attempt})
