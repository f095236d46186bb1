"""Where a process's tenant models live: one model per tenant, kept in step with the ai
database (first load, catch-up, forgetting) and evicted within a memory budget."""

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from services.ai import store
from services.ai.models.documents import document
from services.ai.models.triage import TenantModel
from shared.crypto import CipherError

log = structlog.get_logger()
_START = ("0", 0)
DEFAULT_BUDGET_MIB = 512


def _settled(changes, mark):
    """The mark after the settled prefix of ``changes``; unsettled ones are read again next time."""
    for _, position, settled in changes:
        if not settled:
            break
        mark = position
    return mark


@dataclass
class ModelRegistry:
    """Tenant id -> that tenant's model; every call names exactly one tenant, none moves data
    between them."""

    factory: Callable[[str], TenantModel] = TenantModel
    _models: dict[str, TenantModel] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def model(self, tenant_id: str) -> TenantModel:
        """The tenant's model, created empty on first use."""
        with self._lock:
            if tenant_id not in self._models:
                self._models[tenant_id] = self.factory(tenant_id)
            return self._models[tenant_id]

    def get(self, tenant_id: str) -> TenantModel | None:
        return self._models.get(tenant_id)

    def drop(self, tenant_id: str) -> bool:
        with self._lock:
            return self._models.pop(tenant_id, None) is not None

    def tenants(self) -> list[str]:
        return list(self._models)


@dataclass
class _Marks:
    tickets: tuple = _START
    erasures: tuple = _START


class TenantModels:
    """The models of the tenants this process serves, each caught up from the database on use.

    The database is the truth: event handlers only write rows, and any instance's model learns
    the committed rows changed since it last looked (so several instances agree, a rolled-back
    handler teaches nothing, and a restart rebuilds everything on first use). Past
    ``budget_mib`` the least recently used models are evicted; an evicted tenant's next use
    rebuilds its model from the rows, which hold nothing an erasure removed.
    """

    def __init__(self, budget_mib=DEFAULT_BUDGET_MIB):
        self.registry = ModelRegistry()
        self.budget = int(float(budget_mib) * 2**20)
        self._marks: dict[str, _Marks] = {}
        self._sizes: OrderedDict[str, int] = OrderedDict()  # least recently used first
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @property
    def nbytes(self) -> int:
        """What the cached models were last measured to hold."""
        with self._guard:
            return sum(self._sizes.values())

    def _lock(self, tenant_id):
        with self._guard:
            return self._locks.setdefault(tenant_id, threading.Lock())

    def current(self, conn, cipher, tenant_id) -> TenantModel:
        """The tenant's model, after learning what was committed since this process last looked."""
        tenant_id = str(tenant_id)
        with self._lock(tenant_id):
            model = self.registry.model(tenant_id)
            marks = self._marks.setdefault(tenant_id, _Marks())
            erasures = store.changed_erasures(conn, marks.erasures)
            for subject_id, _, _ in erasures:
                model.forget_subject(subject_id)
            marks.erasures = _settled(erasures, marks.erasures)
            changed = store.changed_tickets(conn, marks.tickets)
            docs = []
            for row, _, _ in changed:
                doc = self._document(cipher, tenant_id, row)
                if doc is not None:
                    docs.append(doc)
                elif row["ticket_id"]:
                    model.forget_ticket(row["ticket_id"])
            model.learn_many(docs)
            marks.tickets = _settled(changed, marks.tickets)
            size = model.nbytes
        self._used(tenant_id, size)
        return model

    def _used(self, tenant_id, size):
        """Mark the tenant most recently used and evict others until the budget holds."""
        with self._guard:
            self._sizes[tenant_id] = size
            self._sizes.move_to_end(tenant_id)
            total = sum(self._sizes.values())
            for victim in list(self._sizes):
                if total <= self.budget or victim == tenant_id:
                    break
                lock = self._locks[victim]
                if not lock.acquire(blocking=False):
                    continue  # in use right now: it is not the least recently used for long
                try:
                    total -= self._sizes.pop(victim)
                    self.registry.drop(victim)
                    self._marks.pop(victim, None)  # its next use starts again from the first row
                finally:
                    lock.release()
            if total > self.budget:
                log.warning(
                    "ai.model_cache_over_budget",
                    tenants=len(self._sizes),
                    mib=round(total / 2**20, 1),
                )

    def evict(self, tenant_id) -> bool:
        """Drop the tenant's model now (its next use rebuilds it from the database)."""
        tenant_id = str(tenant_id)
        with self._lock(tenant_id), self._guard:
            self._sizes.pop(tenant_id, None)
            self._marks.pop(tenant_id, None)
            return self.registry.drop(tenant_id)

    @staticmethod
    def _document(cipher, tenant_id, row):
        try:
            return document(cipher, tenant_id, row)
        except CipherError:
            log.error("ai.unreadable_ticket_document", ticket_id=row["ticket_id"])
            return None

    def forget(self, tenant_id, subject_id) -> list[str]:
        """Drop the subject's tickets from this process's model at once (no database needed)."""
        model = self.registry.get(str(tenant_id))
        if model is None:
            return []
        with self._lock(str(tenant_id)):
            return model.forget_subject(str(subject_id))
