"""One tenant's feature space: hashed n-grams mapped to compact columns, and label counts."""

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer

# 2**17 hashed unigrams and bigrams: few collisions for one tenant's vocabulary. Only the
# features a tenant's tickets use get a column, so a model grows with its vocabulary, not
# with this space (which still sets naive Bayes' smoothing, as if every column existed).
N_FEATURES = 2**17
_ALPHA = 0.1
# Below this many labelled tickets (or with a single label) a classifier is noise: say so and
# fall back to the tenant's most frequent label.
MIN_LABELLED = 20


def vectorizer() -> HashingVectorizer:
    return HashingVectorizer(
        n_features=N_FEATURES,
        ngram_range=(1, 2),
        stop_words="english",
        alternate_sign=False,
        norm=None,
        dtype=np.float32,
    )


def grown(array: np.ndarray, width: int) -> np.ndarray:
    """``array`` with at least ``width`` columns, zero-filled, with room to grow by a quarter."""
    if array.shape[-1] >= width:
        return array
    extra = width + width // 4 - array.shape[-1]
    return np.pad(array, [(0, 0)] * (array.ndim - 1) + [(0, extra)])


class Vocabulary:
    """Hashed feature index -> the tenant's own column, assigned in order of first use."""

    def __init__(self):
        self._keys = np.zeros(0, dtype=np.int32)  # sorted hashed indices
        self._columns = np.zeros(0, dtype=np.int32)  # the column of each key

    def __len__(self) -> int:
        return self._keys.size

    @property
    def nbytes(self) -> int:
        return self._keys.nbytes + self._columns.nbytes

    def lookup(self, hashed: np.ndarray) -> np.ndarray:
        """The columns of ``hashed``, -1 where the tenant never used the feature."""
        at = np.minimum(np.searchsorted(self._keys, hashed), max(self._keys.size - 1, 0))
        if not self._keys.size:
            return np.full(hashed.shape, -1, dtype=np.int32)
        return np.where(self._keys[at] == hashed, self._columns[at], -1).astype(np.int32)

    def add(self, hashed: np.ndarray) -> np.ndarray:
        """The columns of ``hashed``, new ones assigned to features not seen before."""
        columns = self.lookup(hashed)
        new = np.unique(hashed[columns < 0])
        if new.size:
            at = np.searchsorted(self._keys, new)
            self._keys = np.insert(self._keys, at, new.astype(np.int32))
            self._columns = np.insert(
                self._columns, at, np.arange(len(self) - new.size, len(self), dtype=np.int32)
            )
            columns = self.lookup(hashed)
        return columns

    def keep(self, used: np.ndarray) -> np.ndarray:
        """Drop every column where ``used`` is False; returns old column -> new (-1: dropped)."""
        remap = np.full(used.size, -1, dtype=np.int32)
        remap[used] = np.arange(int(used.sum()), dtype=np.int32)
        kept = used[self._columns]
        self._keys, self._columns = self._keys[kept], remap[self._columns[kept]]
        return remap


class LabelCounts:
    """Multinomial naive Bayes kept as exact per-class feature counts, so forgetting is a
    subtraction."""

    def __init__(self):
        self._rows: dict[str, int] = {}
        self._counts = np.zeros((0, 0), dtype=np.float32)
        self._docs = np.zeros(0, dtype=np.int64)
        self._mass = np.zeros(0, dtype=np.float64)

    @property
    def nbytes(self) -> int:
        return self._counts.nbytes + self._docs.nbytes + self._mass.nbytes

    def add(self, label: str | None, columns: np.ndarray, values: np.ndarray, sign: int = 1):
        if label is None:
            return
        row = self._rows.get(label)
        if row is None:
            row = self._rows[label] = len(self._rows)
            self._counts = np.vstack(
                [self._counts, np.zeros((1, self._counts.shape[1]), np.float32)]
            )
            self._docs = np.append(self._docs, 0)
            self._mass = np.append(self._mass, 0.0)
        if columns.size:
            self._counts = grown(self._counts, int(columns.max()) + 1)
        self._counts[row, columns] += sign * values
        self._docs[row] += sign
        self._mass[row] += sign * float(values.sum())

    @classmethod
    def recounted(cls, labelled) -> "LabelCounts":
        """Counts summed afresh from ``(label, columns, values)``: no residue of what was
        subtracted."""
        counts = cls()
        labelled = [item for item in labelled if item[0] is not None]
        for label, _, _ in labelled:
            counts._rows.setdefault(label, len(counts._rows))
        if not labelled:
            return counts
        rows = np.concatenate([np.full(c.size, counts._rows[label]) for label, c, _ in labelled])
        columns = np.concatenate([c for _, c, _ in labelled])
        values = np.concatenate([v for _, _, v in labelled]).astype(np.float32)
        width = int(columns.max()) + 1 if columns.size else 0
        counts._counts = sparse.coo_matrix(
            (values, (rows, columns)), shape=(len(counts._rows), width)
        ).toarray()
        counts._docs = np.bincount(
            [counts._rows[label] for label, _, _ in labelled], minlength=len(counts._rows)
        ).astype(np.int64)
        counts._mass = np.zeros(len(counts._rows))
        np.add.at(
            counts._mass,
            [counts._rows[label] for label, _, _ in labelled],
            [float(v.sum()) for _, _, v in labelled],
        )
        return counts

    def guess(self, columns: np.ndarray, values: np.ndarray) -> tuple[str | None, float, str]:
        """``columns`` of the text's features (-1: a feature no ticket of the tenant used)."""
        labels = [label for label, row in self._rows.items() if self._docs[row] > 0]
        if not labels:
            return None, 0.0, "empty"
        rows = np.array([self._rows[label] for label in labels])
        docs = self._docs[rows]
        if docs.sum() < MIN_LABELLED or len(labels) < 2 or values.size == 0:
            best = int(np.argmax(docs))
            return labels[best], float(docs[best] / docs.sum()), "majority"
        # a feature no class has seen weighs log(alpha) in every class alike
        known = (columns >= 0) & (columns < self._counts.shape[1])
        log_prior = np.log(docs / docs.sum())
        log_likelihood = np.log(self._counts[np.ix_(rows, columns[known])] + _ALPHA) @ values[known]
        log_likelihood += np.log(_ALPHA) * float(values[~known].sum())
        log_likelihood -= values.sum() * np.log(self._mass[rows] + _ALPHA * N_FEATURES)
        joint = log_prior + log_likelihood
        # Naive Bayes posteriors saturate at 1.0 on long texts; scaling by length keeps the
        # confidence usable for ranking and thresholds.
        joint = joint / max(1.0, float(np.sqrt(values.sum())))
        posterior = np.exp(joint - joint.max())
        posterior /= posterior.sum()
        best = int(np.argmax(posterior))
        return labels[best], float(posterior[best]), "model"
