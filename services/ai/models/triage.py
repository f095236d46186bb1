"""One tenant's triage model: category and priority suggestions and similar-ticket search,
fed only that tenant's tickets."""

import threading
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.preprocessing import normalize

from services.ai.models.documents import TicketDoc
from services.ai.models.features import LabelCounts, Vocabulary, grown, vectorizer

DUPLICATE_SCORE = 0.8
_MIN_SIMILARITY = 0.05
_PENDING_LIMIT = 256
# what a learned ticket costs beyond its feature arrays: its entry, id, subjects and dict slot
_ENTRY_OVERHEAD = 600


@dataclass(frozen=True)
class Suggestion:
    """A triage suggestion; ``basis`` is ``model``, ``majority`` (too little data) or ``empty``."""

    category: str | None
    priority: str | None
    confidence: float
    similar: list[tuple[str, float]]
    basis: str
    category_confidence: float = 0.0
    priority_confidence: float = 0.0


@dataclass
class _Entry:
    subject_ids: frozenset[str]
    category: str | None
    priority: str | None
    resolution: str | None
    columns: np.ndarray  # the tenant's columns (see Vocabulary)
    values: np.ndarray


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    if n < scores.size:
        return np.argpartition(-scores, n)[:n]
    return np.arange(scores.size)


class TenantModel:
    """One tenant's triage model and similarity index; it never sees another tenant's tickets.

    Every array is over the tenant's own columns (`Vocabulary`): features no ticket of the
    tenant used take no room, and forgetting drops the columns only forgotten tickets used.
    """

    def __init__(self, tenant_id: str):
        self.tenant_id = tenant_id
        self._lock = threading.RLock()
        self._vectorizer = vectorizer()
        self._vocabulary = Vocabulary()
        self._docs: dict[str, _Entry] = {}
        self._df = np.zeros(0, dtype=np.int32)
        self._category = LabelCounts()
        self._priority = LabelCounts()
        self._reset_index()

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, ticket_id: str) -> bool:
        return ticket_id in self._docs

    @property
    def nbytes(self) -> int:
        """About what the model holds in memory, for the cache's budget."""
        with self._lock:
            arrays = (
                self._vocabulary.nbytes
                + self._df.nbytes
                + self._category.nbytes
                + self._priority.nbytes
                + self._idf.nbytes
                + _matrix_bytes(self._inverted)
                + _matrix_bytes(self._pending_matrix)
            )
            entries = sum(
                _ENTRY_OVERHEAD
                + entry.columns.nbytes
                + entry.values.nbytes
                + len(entry.resolution or "")
                for entry in self._docs.values()
            )
            return arrays + entries

    def learn(self, ticket: TicketDoc) -> None:
        self.learn_many([ticket])

    def learn_many(self, tickets: Iterable[TicketDoc]) -> None:
        """Learn (or re-learn, replacing the previous version) tickets in one vectorizing pass."""
        tickets = list({ticket.ticket_id: ticket for ticket in tickets}.values())
        if not tickets:
            return
        matrix = self._features([ticket.text for ticket in tickets])
        with self._lock:
            columns = self._vocabulary.add(matrix.indices)
            self._df = grown(self._df, len(self._vocabulary))
            for row, ticket in enumerate(tickets):
                start, end = matrix.indptr[row], matrix.indptr[row + 1]
                entry = _Entry(
                    ticket.subject_ids,
                    ticket.category,
                    ticket.priority,
                    ticket.resolution,
                    columns[start:end].copy(),
                    matrix.data[start:end].copy(),
                )
                previous = self._docs.get(ticket.ticket_id)
                same_text = (
                    previous is not None
                    and np.array_equal(previous.columns, entry.columns)
                    and np.array_equal(previous.values, entry.values)
                )
                if previous is not None:
                    self._unlearn(ticket.ticket_id, previous, keep_row=same_text)
                self._docs[ticket.ticket_id] = entry
                self._df[entry.columns] += 1
                self._category.add(entry.category, entry.columns, entry.values)
                self._priority.add(entry.priority, entry.columns, entry.values)
                if not same_text:
                    self._pending.append(ticket.ticket_id)
                    self._pending_matrix = None

    def forget_ticket(self, ticket_id: str) -> bool:
        with self._lock:
            return bool(self._drop([ticket_id] if ticket_id in self._docs else []))

    def forget_subject(self, subject_id: str) -> list[str]:
        """Drop every ticket by or about the subject from training data and index; returns their
        ids."""
        with self._lock:
            return self._drop(
                [tid for tid, entry in self._docs.items() if subject_id in entry.subject_ids]
            )

    def _drop(self, ticket_ids: list[str]) -> list[str]:
        for ticket_id in ticket_ids:
            self._unlearn(ticket_id, self._docs.pop(ticket_id), keep_row=False)
        if ticket_ids:
            # Now, not lazily, so nothing of the forgotten text outlives the call: the columns
            # only it used, and any rounding its subtraction left in the label counts.
            self._compact()
            self._rebuild_index()
        return ticket_ids

    def _compact(self):
        remap = self._vocabulary.keep(self._df[: len(self._vocabulary)] > 0)
        for entry in self._docs.values():
            entry.columns = remap[entry.columns]
        self._df = self._df[: remap.size][remap >= 0]
        self._category = LabelCounts.recounted(
            (e.category, e.columns, e.values) for e in self._docs.values()
        )
        self._priority = LabelCounts.recounted(
            (e.priority, e.columns, e.values) for e in self._docs.values()
        )

    def suggest(self, text: str, k: int = 5) -> Suggestion:
        return self.suggest_many([text], k)[0]

    def suggest_many(self, texts: list[str], k: int = 5) -> list[Suggestion]:
        """A suggestion for each text, as `suggest` would make it, in one vectorizing pass."""
        if not texts:
            return []
        matrix = self._features(list(texts))
        suggestions = []
        with self._lock:
            for row in range(len(texts)):
                start, end = matrix.indptr[row], matrix.indptr[row + 1]
                values = matrix.data[start:end]
                columns = self._vocabulary.lookup(matrix.indices[start:end])
                suggestions.append(self._suggestion(columns, values, k))
        return suggestions

    def _suggestion(self, columns, values, k) -> Suggestion:
        category, category_confidence, category_basis = self._category.guess(columns, values)
        priority, priority_confidence, priority_basis = self._priority.guess(columns, values)
        similar = self._search(columns, values, k, exclude=None)
        order = ["empty", "majority", "model"]
        return Suggestion(
            category,
            priority,
            min(category_confidence, priority_confidence),
            similar,
            min(category_basis, priority_basis, key=order.index),
            category_confidence,
            priority_confidence,
        )

    def similar(self, text: str, k: int = 5) -> list[tuple[str, float]]:
        """Known tickets most similar to ``text`` (cosine over TF-IDF), best first."""
        matrix = self._features([text])
        with self._lock:
            return self._search(
                self._vocabulary.lookup(matrix.indices), matrix.data, k, exclude=None
            )

    def similar_to(self, ticket_id: str, k: int = 5) -> list[tuple[str, float]]:
        """Known tickets most similar to a known ticket, never the ticket itself."""
        with self._lock:
            entry = self._docs.get(ticket_id)
            if entry is None:
                raise KeyError(ticket_id)
            return self._search(entry.columns, entry.values, k, exclude=ticket_id)

    def likely_duplicates(self, text: str, k: int = 5) -> list[tuple[str, float]]:
        return [(tid, score) for tid, score in self.similar(text, k) if score >= DUPLICATE_SCORE]

    def resolution_of(self, ticket_id: str) -> str | None:
        entry = self._docs.get(ticket_id)
        return entry.resolution if entry else None

    def _features(self, texts: list[str]) -> sparse.csr_matrix:
        matrix = self._vectorizer.transform(texts).tocsr()
        matrix.sort_indices()
        np.log1p(matrix.data, out=matrix.data)  # sublinear term frequency
        return matrix

    def _unlearn(self, ticket_id: str, entry: _Entry, *, keep_row: bool):
        self._df[entry.columns] -= 1
        self._category.add(entry.category, entry.columns, entry.values, sign=-1)
        self._priority.add(entry.priority, entry.columns, entry.values, sign=-1)
        if keep_row:
            return
        if ticket_id in self._indexed:
            self._indexed.discard(ticket_id)
            self._tombstones += 1
        if ticket_id in self._pending:
            self._pending.remove(ticket_id)
            self._pending_matrix = None

    # The index is a compiled, inverted TF-IDF matrix over the tickets known at the last
    # rebuild, plus a small pending block of later tickets weighted with the same IDF, so a
    # learn-then-suggest cycle costs microseconds instead of a rebuild. A column added since
    # the rebuild (or a feature the tenant never used) weighs as one no ticket had then.
    def _reset_index(self):
        self._idf = np.ones(0, dtype=np.float32)
        self._unseen_idf = 1.0
        self._inverted = sparse.csr_matrix((0, 0), dtype=np.float32)
        self._row_ids: list[str] = []
        self._indexed: set[str] = set()
        self._tombstones = 0
        self._built_size = 0
        self._pending: list[str] = []
        self._pending_matrix = None

    def _idf_of(self, columns: np.ndarray) -> np.ndarray:
        known = (columns >= 0) & (columns < self._idf.size)
        return np.where(
            known, self._idf[np.where(known, columns, 0)] if self._idf.size else 0, self._unseen_idf
        ).astype(np.float32)

    def _rows(self, ticket_ids: list[str]) -> sparse.csr_matrix:
        width = len(self._vocabulary)
        if not ticket_ids or not width:
            # no ticket, or tickets of stop words only (no column yet): nothing to normalize
            return sparse.csr_matrix((len(ticket_ids), width), dtype=np.float32)
        entries = [self._docs[tid] for tid in ticket_ids]
        indptr = np.zeros(len(entries) + 1, dtype=np.int64)
        np.cumsum([entry.columns.size for entry in entries], out=indptr[1:])
        columns = np.concatenate([e.columns for e in entries])
        values = np.concatenate([e.values for e in entries])
        rows = sparse.csr_matrix(
            (values * self._idf_of(columns), columns, indptr), shape=(len(entries), width)
        )
        return normalize(rows)

    def _rebuild_index(self):
        self._reset_index()
        size = len(self._docs)
        df = self._df[: len(self._vocabulary)]
        self._idf = (np.log((1 + size) / (1 + df)) + 1).astype(np.float32)
        self._unseen_idf = float(np.log(1 + size) + 1)
        self._row_ids = list(self._docs)
        self._indexed = set(self._row_ids)
        self._inverted = self._rows(self._row_ids).T.tocsr()
        self._built_size = size

    def _refresh_index(self):
        size = len(self._docs)
        idf_drifted = size > 1.2 * self._built_size + 16
        too_many_dead = self._tombstones > 0.2 * max(1, len(self._row_ids))
        if idf_drifted or too_many_dead or len(self._pending) > _PENDING_LIMIT:
            self._rebuild_index()
        elif self._pending and self._pending_matrix is None:
            self._pending_matrix = self._rows(self._pending)

    def _search(self, columns, values, k, exclude) -> list[tuple[str, float]]:
        self._refresh_index()
        if k <= 0 or values.size == 0:
            return []
        query = values * self._idf_of(columns)
        query = query / (np.linalg.norm(query) or 1.0)
        candidates: list[tuple[str, float]] = []
        for ids, scores, alive in self._scored_blocks(columns, query):
            top = _top(scores, k + 1 + self._tombstones)
            candidates += [(ids[i], float(scores[i])) for i in top if alive(ids[i])]
        ranked = sorted(
            (
                (tid, round(score, 4))
                for tid, score in candidates
                if tid != exclude and score >= _MIN_SIMILARITY
            ),
            key=lambda pair: (-pair[1], pair[0]),
        )
        return ranked[:k]

    def _scored_blocks(self, columns, query):
        # only columns a block has can score in it; the rest stay in the query's norm
        if self._row_ids:
            known = (columns >= 0) & (columns < self._inverted.shape[0])
            scores = query[known] @ self._inverted[columns[known]]
            yield self._row_ids, np.asarray(scores).ravel(), self._indexed.__contains__
        if self._pending:
            known = (columns >= 0) & (columns < self._pending_matrix.shape[1])
            pending = self._pending_matrix[:, columns[known]] @ query[known]
            yield self._pending, np.asarray(pending).ravel(), self._docs.__contains__


def _matrix_bytes(matrix) -> int:
    if matrix is None:
        return 0
    return matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes
