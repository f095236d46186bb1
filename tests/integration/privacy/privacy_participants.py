"""Small real participants of privacy's sagas: they seal a profile and notes per subject in their
own event store, keep a plaintext read model (in the snapshots table) and implement the contract
export_subject / purge_subject / rectify_subject."""

import uuid

from nameko.rpc import rpc  # a test stand-in: any caller

from shared import eventstore
from shared.db import Database
from shared.envelope import system_actor
from shared.keys import SubjectKeys

ACTOR = system_actor("test-participant")


class SubjectStore:
    name = "profiles"

    db = Database()
    cipher = SubjectKeys()

    def _stream(self, subject_id):
        return f"subject-{subject_id}"

    def _read_model(self, subject_id):
        return f"profile-{subject_id}"

    @rpc
    def record(self, tenant_id, subject_id, name, email, notes=1):
        """Store `notes` events carrying the subject's name, email and a note, all sealed."""
        conn = self.db.begin(tenant_id)
        stream = self._stream(subject_id)
        version = self.db.version(stream)
        batch = []
        for n in range(notes):
            pii = self.cipher.seal(
                tenant_id,
                {
                    "name": (subject_id, name),
                    "email": (subject_id, email),
                    "note": (subject_id, f"note {n} by {name}"),
                },
            )
            batch.append(
                self.db.new_event(
                    "note_recorded",
                    stream,
                    {"subject_id": subject_id, "n": n},
                    actor=ACTOR,
                    pii=pii,
                )
            )
            if len(batch) == 1000:
                version = self.db.append(stream, version, batch)
                batch = []
        self.db.append(stream, version, batch)
        eventstore.save_snapshot(
            conn,
            tenant_id,
            self._read_model(subject_id),
            self.db.version(stream),
            {"name": name, "email": email},
        )
        return notes

    @rpc
    def view(self, tenant_id, subject_id):
        """The read model (plaintext, as an API would need it), or None."""
        snapshot = eventstore.load_snapshot(
            self.db.begin(tenant_id), tenant_id, self._read_model(subject_id)
        )
        return snapshot[1] if snapshot else None

    @rpc
    def opened_events(self, tenant_id, subject_id):
        self.db.begin(tenant_id)
        return [self.cipher.open(tenant_id, e.pii) for e in self.db.load(self._stream(subject_id))]

    @rpc
    def export_subject(self, tenant_id, subject_id):
        events = self.opened_events(tenant_id, subject_id)
        return {
            "subject_id": subject_id,
            "profile": self.view(tenant_id, subject_id),
            "notes": [e["note"] for e in events if "note" in e],
        }

    @rpc
    def purge_subject(self, tenant_id, subject_id, request_id):
        conn = self.db.begin(tenant_id)
        purged = conn.execute(
            "DELETE FROM snapshots WHERE stream_id = %s", (self._read_model(subject_id),)
        ).rowcount
        # every call is remembered, so tests can see whether an erasure ran twice
        stream = f"purges-{subject_id}-{uuid.uuid4()}"
        self.db.append(
            stream,
            0,
            [self.db.new_event("purge_received", stream, {"request_id": request_id}, actor=ACTOR)],
        )
        return {"service": self.name, "request_id": request_id, "purged": {"profiles": purged}}

    @rpc
    def rectify_subject(self, tenant_id, subject_id, changes):
        conn = self.db.begin(tenant_id)
        stream = self._stream(subject_id)
        pii = self.cipher.seal(
            tenant_id, {field: (subject_id, value) for field, value in changes.items()}
        )
        version = self.db.append(
            stream,
            self.db.version(stream),
            [
                self.db.new_event(
                    "profile_rectified", stream, {"subject_id": subject_id}, actor=ACTOR, pii=pii
                )
            ],
        )
        state = {**(self.view(tenant_id, subject_id) or {}), **changes}
        eventstore.save_snapshot(conn, tenant_id, self._read_model(subject_id), version, state)
        return {"service": self.name, "subject_id": subject_id, "rectified": sorted(changes)}


class Profiles(SubjectStore):
    name = "profiles"


class Notes(SubjectStore):
    name = "notes"
