"""Field checks shared by the command handlers; each returns the cleaned value or raises
ValidationFailed."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from .errors import ValidationFailed

TITLE_MAX = 200
TEXT_MAX = 20_000
# Tags and categories are constrained to slugs so that free (possibly personal) text cannot hide
# in fields that travel unencrypted.
TAG_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{0,49}")
CATEGORY_PATTERN = re.compile(r"[a-z0-9][a-z0-9_./-]{0,99}")
# Bounds per ticket: each list travels in events and is folded on every read.
WATCHERS_MAX, TAGS_MAX, LINKS_MAX = 100, 20, 100


def clean_id(field: str, value: object) -> str:
    """Every id (ticket, comment, person, group) is a UUID, in its canonical spelling: no free
    text (an email, a name) can hide in a field that travels unencrypted."""
    try:
        return (
            str(uuid.UUID(value.strip()))
            if isinstance(value, str) and len(value) <= 36
            else _bad_id(field)
        )
    except ValueError:
        return _bad_id(field)


def _bad_id(field: str) -> str:
    raise ValidationFailed(field, "must be a UUID")


def clean_optional_id(field: str, value: object) -> str | None:
    return None if value is None else clean_id(field, value)


def clean_title(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed("title", "must not be empty")
    title = " ".join(value.split())
    if len(title) > TITLE_MAX:
        raise ValidationFailed("title", f"must be at most {TITLE_MAX} characters")
    return title


def clean_text(field: str, value: object, *, required: bool) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(field, "must be text")
    text = value.strip()
    if required and not text:
        raise ValidationFailed(field, "must not be empty")
    if len(text) > TEXT_MAX:
        raise ValidationFailed(field, f"must be at most {TEXT_MAX} characters")
    return text


def clean_choice(field: str, value: object, choices: Iterable[str]) -> str:
    options = sorted(choices)
    if value not in options:
        raise ValidationFailed(field, f"must be one of {', '.join(options)}")
    return value  # type: ignore[return-value]


def clean_category(value: object) -> str:
    if not isinstance(value, str) or not CATEGORY_PATTERN.fullmatch(value.strip().lower()):
        raise ValidationFailed("category", "must be a slug: lowercase letters, digits and _ . / -")
    return value.strip().lower()


def clean_tags(values: Iterable[object]) -> frozenset[str]:
    tags: set[str] = set()
    for value in values:
        if not isinstance(value, str) or not TAG_PATTERN.fullmatch(value.strip().lower()):
            raise ValidationFailed(
                "tags", "each tag must be a slug: lowercase letters, digits and _ . -"
            )
        tags.add(value.strip().lower())
    return frozenset(tags)


def clean_ids(field: str, values: Iterable[object]) -> frozenset[str]:
    return frozenset(clean_id(field, value) for value in values)


def bounded(field: str, values: frozenset, limit: int) -> frozenset:
    if len(values) > limit:
        raise ValidationFailed(field, f"at most {limit} per ticket")
    return values
