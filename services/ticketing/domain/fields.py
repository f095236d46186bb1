"""Custom ticket fields: their definitions (per tenant) and the rules their values keep.

A definition names a `key` (a slug), a `type` (text, number, date, enum, user, bool), the
`options` of an enum, the ticket types that require it and whether it is `personal`. A value
of a personal field, and of every text field (free text may always be personal), is sealed
under the requester's key as the description is, and erased with it; other values travel in
the events' data as ids, slugs, dates, numbers and flags.

The service hands `decide` the tenant's definitions (key -> FieldDefinition) as it hands it the
members; values naming a user must name a member of the tenant.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from .errors import NotPermitted, TicketingError, ValidationFailed
from .model import ERASED, TICKET_TYPES, Actor, NewEvent, pii_value
from .validation import clean_id, clean_text

TEXT, NUMBER, DATE, ENUM, USER, BOOL = "text", "number", "date", "enum", "user", "bool"
FIELD_TYPES = (TEXT, NUMBER, DATE, ENUM, USER, BOOL)
KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,49}")
OPTION_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/+-]{0,99}")
FIELD_TEXT_MAX = 2_000
NUMBER_MAX = 2**53  # exact in every JSON reader
OPTIONS_MAX, FIELDS_MAX = 100, 100
# external ids are an integrator's opaque keys (an alert id, an asset tag): no spaces, no "@"
EXTERNAL_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9+/=_:.-]{0,199}")
EXTERNAL_ID_MAX = 200

FIELDS_CHANGED = "fields_changed"
# the one sealed entry of a fields_changed event: a JSON object of the sealed values it sets
SEALED_ENTRY = "fields"


class FieldAlreadyDefined(TicketingError):
    def __init__(self, key: str):
        self.key = key
        super().__init__(f"a ticket field {key!r} is already defined")


class FieldNotDefined(TicketingError):
    def __init__(self, key: str):
        self.key = key  # as the caller sent it: kept out of the message
        super().__init__("no such ticket field")


@dataclass(frozen=True)
class FieldDefinition:
    key: str
    type: str
    options: tuple[str, ...] = ()
    required_for: frozenset[str] = frozenset()
    personal: bool = False

    @property
    def sealed(self) -> bool:
        """Sealed under the requester's key: personal fields, and every text field."""
        return self.personal or self.type == TEXT

    def as_data(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "type": self.type,
            "options": list(self.options),
            "required_for": sorted(self.required_for),
            "personal": self.personal,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> FieldDefinition:
        return cls(
            key=data["key"],
            type=data["type"],
            options=tuple(data.get("options") or ()),
            required_for=frozenset(data.get("required_for") or ()),
            personal=bool(data.get("personal")),
        )


# definitions


def _require_admin(actor: Actor, action: str) -> None:
    if "admin" not in actor.roles:
        raise NotPermitted(f"only admins may {action}")


def _clean_options(field_type: str, options: object) -> tuple[str, ...]:
    if field_type != ENUM:
        if options:
            raise ValidationFailed("options", "only an enum field takes options")
        return ()
    if not isinstance(options, list | tuple) or not options:
        raise ValidationFailed("options", "an enum field needs at least one option")
    if len(options) > OPTIONS_MAX:
        raise ValidationFailed("options", f"at most {OPTIONS_MAX} options")
    cleaned: list[str] = []
    for option in options:
        if not isinstance(option, str) or not OPTION_PATTERN.fullmatch(option):
            raise ValidationFailed("options", "each option is a word of letters, digits, _.:/+-")
        if option in cleaned:
            raise ValidationFailed("options", "options must be distinct")
        cleaned.append(option)
    return tuple(cleaned)


def _clean_required_for(values: object) -> frozenset[str]:
    if not isinstance(values, list | tuple | frozenset | set):
        raise ValidationFailed("required_for", "must be a list of ticket types")
    types = frozenset(values)
    unknown = types - set(TICKET_TYPES)
    if unknown:
        raise ValidationFailed("required_for", f"must name ticket types: {', '.join(TICKET_TYPES)}")
    return types


def define_field(
    actor: Actor,
    existing: Mapping[str, FieldDefinition],
    *,
    key: object,
    type: object,
    options: object = (),
    required_for: object = (),
    personal: object = None,
) -> FieldDefinition:
    """The definition a tenant's admin asks for; FieldAlreadyDefined when the key is taken."""
    _require_admin(actor, "define ticket fields")
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise ValidationFailed("key", "must be a lowercase slug: a letter, then a-z, 0-9 and _")
    if key in existing:
        raise FieldAlreadyDefined(key)
    if len(existing) >= FIELDS_MAX:
        raise ValidationFailed("key", f"at most {FIELDS_MAX} ticket fields per tenant")
    if type not in FIELD_TYPES:
        raise ValidationFailed("type", f"must be one of {', '.join(FIELD_TYPES)}")
    if type == TEXT and personal is False:
        raise ValidationFailed("personal", "a text field is always personal: free text is sealed")
    return FieldDefinition(
        key=key,
        type=type,
        options=_clean_options(type, options),
        required_for=_clean_required_for(required_for),
        personal=True if type == TEXT else bool(personal),
    )


def change_field(
    actor: Actor,
    current: FieldDefinition | None,
    key: str,
    *,
    options: object = None,
    required_for: object = None,
) -> FieldDefinition:
    """A definition with new options or required types; key, type and personal stay (values
    already recorded were sealed, or not, by them)."""
    _require_admin(actor, "change ticket fields")
    if current is None:
        raise FieldNotDefined(key)
    return FieldDefinition(
        key=current.key,
        type=current.type,
        options=current.options if options is None else _clean_options(current.type, options),
        required_for=(
            current.required_for if required_for is None else _clean_required_for(required_for)
        ),
        personal=current.personal,
    )


def remove_field(actor: Actor, current: FieldDefinition | None, key: str) -> FieldDefinition:
    _require_admin(actor, "remove ticket fields")
    if current is None:
        raise FieldNotDefined(key)
    return current


# values


def clean_external_id(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not EXTERNAL_ID_PATTERN.fullmatch(value.strip()):
        raise ValidationFailed(
            "external_id",
            f"must be 1 to {EXTERNAL_ID_MAX} letters, digits and + / = _ : . - (no spaces)",
        )
    return value.strip()


def clean_value(
    definition: FieldDefinition,
    value: object,
    members: Mapping[str, frozenset[str]] | None,
    actor: Actor,
) -> object:
    """The value in its canonical form, or ValidationFailed naming `fields.<key>`."""
    name = f"fields.{definition.key}"
    kind = definition.type
    if kind == TEXT:
        text = clean_text(name, value, required=True)
        if len(text) > FIELD_TEXT_MAX:
            raise ValidationFailed(name, f"must be at most {FIELD_TEXT_MAX} characters")
        return text
    if kind == NUMBER:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (isinstance(value, float) and not math.isfinite(value))
            or abs(value) > NUMBER_MAX
        ):
            raise ValidationFailed(name, f"must be a number from -{NUMBER_MAX} to {NUMBER_MAX}")
        return value
    if kind == DATE:
        try:
            return date.fromisoformat(value).isoformat()  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValidationFailed(name, "must be a date (YYYY-MM-DD)") from None
    if kind == ENUM:
        if value not in definition.options:
            raise ValidationFailed(name, f"must be one of {', '.join(definition.options)}")
        return value
    if kind == USER:
        user_id = clean_id(name, value)
        if members is not None and user_id != actor.user_id and user_id not in members:
            raise ValidationFailed(name, "must name a member of this tenant")
        return user_id
    if not isinstance(value, bool):
        raise ValidationFailed(name, "must be true or false")
    return value


def field_people(command: object) -> frozenset[str]:
    """Ids among a command's field values (a user field's candidates), to look up as members."""
    values = getattr(command, "fields", None) or {}
    return frozenset(
        v.strip() for v in values.values() if isinstance(v, str) and 32 <= len(v.strip()) <= 36
    )


def _required(definitions: Mapping[str, FieldDefinition], ticket_type: str) -> list[str]:
    return sorted(k for k, d in definitions.items() if ticket_type in d.required_for)


def decide_fields(
    *,
    actor: Actor,
    requester_id: str,
    ticket_type: str,
    current: Mapping[str, object],
    values: Mapping[str, object],
    definitions: Mapping[str, FieldDefinition] | None,
    members: Mapping[str, frozenset[str]] | None,
    complete: bool,
) -> list[NewEvent]:
    """The fields_changed event setting `values` (None clears a field), or [] when nothing
    changes. Unknown keys, wrong types, options outside an enum, people who are no members
    and required fields cleared are refused (ValidationFailed); `complete` (an opening, a
    change of type): so is any field the ticket's type requires that it would still lack."""
    definitions = definitions or {}
    if not isinstance(values, Mapping):
        raise ValidationFailed("fields", "must be an object of field keys and values")
    unknown = sorted(str(key) for key in values if key not in definitions)
    if unknown:
        # a key as sent is named only when it could be one: free text stays out of errors
        named = f"fields.{unknown[0]}" if KEY_PATTERN.fullmatch(unknown[0]) else "fields"
        raise ValidationFailed(named, "no such ticket field")
    plain: dict[str, dict[str, object]] = {}
    sealed: dict[str, object] = {}
    cleared: list[str] = []
    for key in sorted(values):
        definition = definitions[key]
        if values[key] is None:
            if ticket_type in definition.required_for:
                raise ValidationFailed(f"fields.{key}", f"is required for a {ticket_type}")
            if key in current:
                cleared.append(key)
            continue
        value = clean_value(definition, values[key], members, actor)
        if current.get(key) == value and type(current.get(key)) is type(value):
            continue
        if definition.sealed:
            sealed[key] = value
        else:
            plain[key] = {definition.type: value}
    if complete:
        have = {k for k in current if k not in values} | {
            k for k in values if values[k] is not None
        }
        missing = [k for k in _required(definitions, ticket_type) if k not in have]
        if missing:
            raise ValidationFailed(f"fields.{missing[0]}", f"is required for a {ticket_type}")
    if not plain and not sealed and not cleared:
        return []
    data = {"set": plain, "sealed": sorted(sealed), "cleared": cleared}
    pii = (
        {SEALED_ENTRY: pii_value(requester_id, json.dumps(sealed, sort_keys=True))}
        if sealed
        else {}
    )
    return [NewEvent(FIELDS_CHANGED, data, pii)]


def fold_fields(
    values: Mapping[str, object], sealed_keys: Iterable[str], data: Mapping, pii: Mapping
) -> tuple[dict[str, object], frozenset[str]]:
    """(values, sealed keys) after a fields_changed event; a shredded key's values are ERASED."""
    folded, sealed = dict(values), set(sealed_keys)
    for key, entry in data.get("set", {}).items():
        folded[key] = next(iter(entry.values()))
        sealed.discard(key)
    opened = open_sealed(pii.get(SEALED_ENTRY), data.get("sealed", ()))
    for key in data.get("sealed", ()):
        folded[key] = opened.get(key, ERASED)
        sealed.add(key)
    for key in data.get("cleared", ()):
        folded.pop(key, None)
        sealed.discard(key)
    return folded, frozenset(sealed)


def open_sealed(text: object, keys: Iterable[str]) -> dict[str, object]:
    """The sealed values of an entry's plaintext (JSON); every key ERASED once it is erased."""
    if not isinstance(text, str) or text == ERASED:
        return {key: ERASED for key in keys}
    try:
        found = json.loads(text)
    except ValueError:
        return {key: ERASED for key in keys}
    return found if isinstance(found, dict) else {key: ERASED for key in keys}


def seal_text(values: Mapping[str, object], sealed_keys: Iterable[str]) -> str:
    """The plaintext a snapshot seals for a ticket's sealed values."""
    return json.dumps({k: values[k] for k in sorted(sealed_keys) if k in values}, sort_keys=True)
