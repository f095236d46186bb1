"""Extractive summaries of ticket threads: the most central sentences, in order, under a cap."""

import re
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9À-Ý])|\n\s*\n|\n(?=\s*[-*•])")
_BULLET = re.compile(r"^\s*[-*•]\s*")
_MIN_WORDS = 3
_DAMPING = 0.85


@dataclass(frozen=True)
class Thread:
    """A ticket thread as the ai service sees it; ``people`` are (name, email) pairs to redact."""

    title: str
    description: str
    comments: tuple[str, ...] = ()
    tenant_id: str | None = None
    people: tuple[tuple[str, str], ...] = ()

    def render(self) -> str:
        parts = [f"Title: {self.title}", f"Description: {self.description}"]
        parts += [f"Comment {number}: {text}" for number, text in enumerate(self.comments, 1)]
        return "\n\n".join(parts)


def split_sentences(text: str) -> list[str]:
    sentences = []
    for chunk in _SENTENCE_END.split(text or ""):
        sentence = " ".join(_BULLET.sub("", chunk).split())
        if sentence:
            sentences.append(sentence)
    return sentences


def _centrality(sentences: list[str]) -> np.ndarray:
    """TextRank over TF-IDF cosine similarity between sentences."""
    try:
        vectors = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(sentences)
    except ValueError:  # every sentence was stop words only
        return np.ones(len(sentences))
    similarity = (vectors @ vectors.T).toarray()
    np.fill_diagonal(similarity, 0.0)
    totals = similarity.sum(axis=1, keepdims=True)
    transition = np.divide(similarity, totals, out=np.zeros_like(similarity), where=totals > 0)
    rank = np.full(len(sentences), 1.0 / len(sentences))
    for _ in range(50):
        updated = (1 - _DAMPING) / len(sentences) + _DAMPING * transition.T @ rank
        if np.abs(updated - rank).sum() < 1e-6:
            break
        rank = updated
    return rank


def summarize_sentences(thread: Thread, max_sentences: int = 3, max_chars: int = 400) -> list[str]:
    """The chosen sentences in thread order: title first, then description, then comments."""
    candidates: list[str] = []
    seen: set[str] = set()
    for text in (thread.title, thread.description, *thread.comments):
        for sentence in split_sentences(text):
            if sentence.casefold() not in seen:
                seen.add(sentence.casefold())
                candidates.append(sentence)
    if not candidates:
        return []
    substantive = [i for i, s in enumerate(candidates) if len(s.split()) >= _MIN_WORDS] or list(
        range(len(candidates))
    )
    scores = _centrality([candidates[i] for i in substantive])
    # The reporter states the problem first; a mild lead bias keeps it unless the thread moved on.
    lead_bias = np.array([1.0 / (1 + 0.1 * rank) for rank in range(len(substantive))])
    ranked = sorted(range(len(substantive)), key=lambda j: (-scores[j] * lead_bias[j], j))
    chosen: list[int] = []
    used = 0
    for j in ranked:
        sentence = candidates[substantive[j]]
        cost = len(sentence) + (1 if chosen else 0)
        if used + cost <= max_chars:
            chosen.append(substantive[j])
            used += cost
        if len(chosen) == max_sentences:
            break
    if not chosen:  # even the best sentence is over the cap: cut it at a word boundary
        best = candidates[substantive[ranked[0]]]
        return [best[: max(0, max_chars - 1)].rsplit(" ", 1)[0] + "…"] if max_chars > 1 else []
    return [candidates[i] for i in sorted(chosen)]


def summarize(thread: Thread, max_sentences: int = 3, max_chars: int = 400) -> str:
    return " ".join(summarize_sentences(thread, max_sentences, max_chars))
