"""Every event field's class, declared once per event type and checked whenever an envelope is made.

Each event type registers a marshmallow schema of its `data` and the names of its sealed (`pii`)
fields. Every string in `data` carries one class (`metadata={"class": ...}`):

- `id`: a UUID in its hyphenated spelling (people, tickets, comments, requests, sessions);
- `slug`: a value from a fixed set, or a word without spaces (types, statuses, roles, tags, field
  names, time zones, version labels);
- `timestamp`: an ISO 8601 instant, date or time of day;
- `digest`: an opaque machine value (hashes, signatures, key ids): base64 or hex, no spaces;
- `public`: text an organization publishes about itself (its tenant name, a policy's title and
  address), shown to the whole tenant and about no natural person;

and `personal` text never appears in `data`: it is a `pii` field, sealed under its subject's
key (shared.crypto). `check` refuses an envelope whose data has an undeclared field, a value
outside its class, or a `pii` entry that is not sealed. A service that registers any type must
register all of them: an unregistered type of that service is refused too.
"""

import datetime
import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate

ID, SLUG, TIMESTAMP, DIGEST, PUBLIC, PERSONAL = (
    "id",
    "slug",
    "timestamp",
    "digest",
    "public",
    "personal",
)
CLEAR_CLASSES = frozenset({ID, SLUG, TIMESTAMP, DIGEST, PUBLIC})
UUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\Z")
SLUG_PATTERN = re.compile(r"^[A-Za-z0-9_.:/+-]{1,100}\Z")
DIGEST_PATTERN = re.compile(r"^[A-Za-z0-9+/=_:.-]{1,2000}\Z")
PUBLIC_MAX = 2000


class UnclassifiedEvent(ValueError):
    """An event type, field or value outside its declared classes (a programming error)."""


def _timestamp(value):
    for parse in (
        datetime.datetime.fromisoformat,
        datetime.date.fromisoformat,
        datetime.time.fromisoformat,
    ):
        try:
            parse(value)
            return
        except (ValueError, TypeError):
            continue
    raise ValidationError("must be an ISO 8601 instant, date or time")


def _string(kind, validator, **kwargs):
    kwargs.setdefault("allow_none", True)
    return fields.String(validate=validator, metadata={"class": kind}, **kwargs)


def Id(**kwargs):
    return _string(ID, validate.Regexp(UUID_PATTERN), **kwargs)


def Slug(*choices, **kwargs):
    """One of `choices` when given (any fixed texts), else a word of letters, digits and _.:/+-."""
    check = validate.OneOf(choices) if choices else validate.Regexp(SLUG_PATTERN)
    return _string(SLUG, check, **kwargs)


def Timestamp(**kwargs):
    return _string(TIMESTAMP, _timestamp, **kwargs)


def Digest(**kwargs):
    return _string(DIGEST, validate.Regexp(DIGEST_PATTERN), **kwargs)


def Public(**kwargs):
    return _string(PUBLIC, validate.Length(max=PUBLIC_MAX), **kwargs)


def Ids(**kwargs):
    return fields.List(Id(allow_none=False), **kwargs)


def Slugs(*choices, **kwargs):
    return fields.List(Slug(*choices, allow_none=False), **kwargs)


def Counts(**kwargs):
    """An object of slug -> integer (e.g. rows purged per kind)."""
    return fields.Dict(keys=Slug(allow_none=False), values=fields.Integer(), **kwargs)


class EventData(Schema):
    """Base of every event data schema: an undeclared field is an error, not dropped."""

    class Meta:
        unknown = RAISE


def _sealed(entry):
    """A `pii` entry as shared.crypto writes it: the subject, and nonce and ciphertext unless
    erased."""
    if not isinstance(entry, dict) or not entry.keys() <= {"s", "n", "c"}:
        return False
    subject, blobs = entry.get("s"), [entry[k] for k in ("n", "c") if k in entry]
    return (
        isinstance(subject, str)
        and 0 < len(subject) <= 200
        and all(isinstance(blob, str) and DIGEST_PATTERN.match(blob) for blob in blobs)
    )


_types = {}  # event type -> (data schema instance, frozenset of pii field names)
_services = set()  # services that declared their events: nothing of theirs goes unchecked
# Compiled from the schemas: marshmallow's own validation cost about half a millisecond per
# event, as much as the append itself.
_checkers = {}  # event type -> function(data) -> list of offending field paths


def register(event_type, data, pii=()):
    """Declare `event_type` (`<service>.<name>`): its data schema class and its sealed fields."""
    schema = data()
    _types[event_type] = (schema, frozenset(pii))
    _checkers[event_type] = _object_checker(schema)
    _services.add(event_type.split(".", 1)[0])
    return data


def registered():
    """{event type: (data schema, sealed field names)} of every type declared so far."""
    return dict(_types)


def check(event_type, data, pii):
    """Raise UnclassifiedEvent when the envelope's fields do not keep to their declared classes.

    The message names the type and fields, never a value (values may be personal).
    """
    service = event_type.split(".", 1)[0]
    if service not in _services:
        return
    declared = _types.get(event_type)
    if declared is None:
        raise UnclassifiedEvent(f"{event_type} is not a declared event type of {service}")
    _, sealed = declared
    wrong = _checkers[event_type](data, "")
    if wrong:
        raise UnclassifiedEvent(f"{event_type} data does not keep to its classes: {sorted(wrong)}")
    for name, entry in (pii or {}).items():
        if name not in sealed:
            raise UnclassifiedEvent(f"{event_type} has no sealed field {name!r}")
        if not _sealed(entry):
            raise UnclassifiedEvent(f"{event_type} pii field {name!r} is not a sealed entry")


def _object_checker(schema):
    """function(value, path) -> [paths of fields outside their class] for a data schema."""
    members = {field.data_key or name: _checker(field) for name, field in schema.fields.items()}

    def check_object(value, path):
        if not isinstance(value, dict):
            return [path or "data"]
        wrong = []
        for key, item in value.items():
            checker = members.get(key)
            if checker is None:
                wrong.append(f"{path}{key} (undeclared)")
            elif item is not None:
                wrong += checker(item, f"{path}{key}")
        return wrong

    return check_object


def _checker(field):
    if isinstance(field, fields.Nested):
        inner = _object_checker(field.schema)
        return lambda value, path: inner(value, path + ".")
    if isinstance(field, fields.List):
        inner = _checker(field.inner)
        return lambda value, path: (
            [path]
            if not isinstance(value, list)
            else [p for item in value for p in inner(item, path + "[]")]
        )
    if isinstance(field, fields.Dict):
        keys, values = _checker(field.key_field), _checker(field.value_field)
        return lambda value, path: (
            [path]
            if not isinstance(value, dict)
            else [
                p
                for key, item in value.items()
                for p in keys(key, path) + values(item, path + "{}")
            ]
        )
    if isinstance(field, fields.Boolean):
        return lambda value, path: [] if isinstance(value, bool) else [path]
    if isinstance(field, (fields.Integer, fields.Float)):
        return lambda value, path: (
            [] if isinstance(value, (int, float)) and not isinstance(value, bool) else [path]
        )
    valid = _string_check(field)
    return lambda value, path: [] if isinstance(value, str) and valid(value) else [path]


def _string_check(field):
    kind = field.metadata.get("class") if isinstance(field, fields.String) else None
    if kind not in CLEAR_CLASSES:
        return lambda value: False  # nothing unclassified is let through
    rule = field.validators[0] if field.validators else None
    if isinstance(rule, validate.OneOf):
        choices = frozenset(rule.choices)
        return choices.__contains__
    if isinstance(rule, validate.Regexp):
        return lambda value: rule.regex.match(value) is not None
    if isinstance(rule, validate.Length):
        return lambda value: len(value) <= rule.max

    def passes(value):
        try:
            rule(value)
        except ValidationError:
            return False
        return True

    return passes


def unclassified_strings(schema, path=""):
    """Paths of string fields in `schema` (nested ones too) without a clear class: what the
    catalogue test refuses, with `personal` among them (personal text belongs in `pii`)."""
    found = []
    for name, field in schema.fields.items():
        found += _unclassified(field, f"{path}{name}")
    return found


def _unclassified(field, path):
    if isinstance(field, fields.Nested):
        nested = field.schema
        return unclassified_strings(nested, path + ".")
    if isinstance(field, fields.List):
        return _unclassified(field.inner, path + "[]")
    if isinstance(field, fields.Dict):
        keys = (
            _unclassified(field.key_field, path + "{key}") if field.key_field else [path + "{key}"]
        )
        values = (
            _unclassified(field.value_field, path + "{}") if field.value_field else [path + "{}"]
        )
        return keys + values
    if isinstance(field, (fields.Integer, fields.Float, fields.Boolean, fields.Decimal)):
        return []
    if isinstance(field, fields.String) and field.metadata.get("class") in CLEAR_CLASSES:
        return []
    return [path]  # a string without a clear class, or a Raw/other field that could hold text
