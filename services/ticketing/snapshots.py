"""A ticket's folded state as a stored snapshot: personal text kept sealed, comments left out.

A snapshot holds what deciding a command needs: the Ticket (without its comments, which live
in the read model and are fetched one by one for the commands that name one), its SLA
history and, for each personal field, the sealed entry of the event that set it, never the
plaintext. Erasing the subject shreds the key those entries are sealed under, so a snapshot
is as unreadable as the events it replaces. A snapshot folded by another version of the
domain (its evolve changed, or the Ticket's fields) is ignored, not trusted.
"""

import dataclasses
import hashlib
import inspect
from datetime import datetime

from services.ticketing.domain import (
    ERASED,
    Link,
    SlaAlert,
    SlaEscalation,
    Ticket,
    approvals,
    evolve,
)
from services.ticketing.domain.fields import SEALED_ENTRY, open_sealed, seal_text
from services.ticketing.domain.model import Approval, ApprovalStage
from services.ticketing.sla import EMPTY_HISTORY, SlaHistory, fold_sla

# Ticket fields holding personal text; a value with no sealed entry (say a title kept in the
# event's plain data) is sealed under the requester's key before it is stored.
PERSONAL = ("title", "description")
# Fold again from the snapshot at most this many events: the cost of a load stays flat.
EVERY = 8
_NAMED = {
    "Link": Link,
    "SlaAlert": SlaAlert,
    "SlaEscalation": SlaEscalation,
    "ApprovalStage": ApprovalStage,
    "Approval": Approval,
}
FINGERPRINT = hashlib.sha256(
    "\n".join(
        [f.name for f in dataclasses.fields(Ticket)]
        + [inspect.getsource(inspect.getmodule(evolve)), inspect.getsource(fold_sla), "format 2"]
        + [inspect.getsource(approvals)]
    ).encode()
).hexdigest()[:16]


@dataclasses.dataclass
class Aggregate:
    """A ticket as loaded for a command: state, SLA history and the sealed personal entries."""

    state: Ticket | None = None
    sla: SlaHistory = EMPTY_HISTORY
    sealed: dict = dataclasses.field(default_factory=dict)
    snapshot_version: int = 0

    @property
    def version(self):
        return self.state.version if self.state else 0

    def fold(self, envelope, recorded):
        self.state = evolve(self.state, recorded)
        self.sla = fold_sla(self.sla, recorded)
        for name in PERSONAL:
            if name in (envelope.pii or {}):
                self.sealed[name] = envelope.pii[name]

    def due(self):
        return self.state is not None and self.version - self.snapshot_version >= EVERY


def _encode(value):
    if isinstance(value, dict):
        return {"d": value}
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, tuple) and type(value).__name__ in _NAMED:
        return {"n": type(value).__name__, "v": [_encode(item) for item in value]}
    if isinstance(value, tuple):
        return {"l": [_encode(item) for item in value]}
    if isinstance(value, frozenset):
        return {"s": sorted((_encode(item) for item in value), key=repr)}
    return value


def _decode(value):
    if isinstance(value, dict):
        if "d" in value:
            return dict(value["d"])
        if "t" in value:
            return datetime.fromisoformat(value["t"])
        if "n" in value:
            return _NAMED[value["n"]](*(_decode(item) for item in value["v"]))
        if "l" in value:
            return tuple(_decode(item) for item in value["l"])
        return frozenset(_decode(item) for item in value["s"])
    return value


def dump(cipher, tenant_id, aggregate):
    """The snapshot's JSON: no comment, no plaintext personal field."""
    state = aggregate.state
    sealed = dict(aggregate.sealed)
    missing = {
        name: (state.requester_id, getattr(state, name))
        for name in PERSONAL
        if name not in sealed and getattr(state, name)
    }
    if state.sealed_fields:
        # custom field values sealed across many events: sealed again, as one entry
        missing[SEALED_ENTRY] = (state.requester_id, seal_text(state.fields, state.sealed_fields))
    if missing:
        sealed.update(cipher.seal(tenant_id, missing))
    body = {
        f.name: _encode(getattr(state, f.name))
        for f in dataclasses.fields(Ticket)
        if f.name not in PERSONAL and f.name != "comments"
    }
    body["fields"] = _encode(
        {k: v for k, v in state.fields.items() if k not in state.sealed_fields}
    )
    return {
        "fingerprint": FINGERPRINT,
        "ticket": body,
        "sealed": sealed,
        "sla": aggregate.sla.to_json(),
    }


def restore(cipher, tenant_id, version, body):
    """The Aggregate a snapshot stands for, personal fields opened; None when it is not ours."""
    if not isinstance(body, dict) or body.get("fingerprint") != FINGERPRINT:
        return None
    opened = cipher.open(tenant_id, body["sealed"])
    fields = {name: _decode(value) for name, value in body["ticket"].items()}
    if fields.get("sealed_fields"):
        values = open_sealed(opened.get(SEALED_ENTRY), fields["sealed_fields"])
        fields["fields"] = {
            **fields["fields"],
            **{key: values.get(key, ERASED) for key in fields["sealed_fields"]},
        }
    state = Ticket(**fields, **{name: opened.get(name, "") for name in PERSONAL}, comments=())
    sealed = {k: v for k, v in body["sealed"].items() if k in PERSONAL}
    return Aggregate(state, SlaHistory.from_json(body["sla"]), sealed, version)
