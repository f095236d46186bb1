"""What integrators get of an event: its type, instant and ids, never personal data.

Derived from the classes each event type declares (shared.classified): a payload carries the
data fields of class `id`, `slug` and `timestamp`, booleans and numbers (nested ones too), and
nothing else: not `public` text, not `digest` values (a hash of a person's address is still
about them), not an undeclared field, never the sealed `pii`. A consumer's copy is out of
reach of erasure, so it holds nothing erasure would have to reach; it reads details with its
own token. An event type nobody declared carries its ids only.
"""

import importlib

from marshmallow import fields

from shared.classified import ID, SLUG, SLUG_PATTERN, TIMESTAMP, UUID_PATTERN, registered

# every service whose events integrators can subscribe to (and this service's own)
SOURCES = ("identity", "ticketing", "privacy", "audit", "ai", "integrations")
CARRIED = frozenset({ID, SLUG, TIMESTAMP})

for _source in SOURCES:
    importlib.import_module(f"services.{_source}.events")  # declares each source's types


def event_types():
    """Every declared event type integrators can subscribe to."""
    return sorted(t for t in registered() if t.split(".", 1)[0] in SOURCES)


def valid_subscription(pattern):
    """`*`, `<service>.*` or a declared event type."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return pattern[:-2] in SOURCES
    return pattern in registered() and pattern.split(".", 1)[0] in SOURCES


def subscriptions_of(event_type):
    """The subscription patterns that match `event_type`."""
    return ["*", event_type.split(".", 1)[0] + ".*", event_type]


def _carry(field, value):
    """(keep, value) of one data value under its declared field."""
    if value is None:
        return True, None
    if isinstance(field, fields.Nested):
        if not isinstance(value, dict):
            return False, None
        return True, _carry_object(field.schema, value)
    if isinstance(field, fields.List):
        if not isinstance(value, list):
            return False, None
        kept = [_carry(field.inner, item) for item in value]
        return all(keep for keep, _ in kept), [item for keep, item in kept if keep]
    if isinstance(field, fields.Dict):
        if not isinstance(value, dict) or field.key_field is None:
            return False, None
        carried = {}
        for key, item in value.items():
            keep_key, _ = _carry(field.key_field, key)
            keep, kept = _carry(field.value_field, item) if field.value_field else (False, None)
            if keep_key and keep:
                carried[key] = kept
        return True, carried
    if isinstance(field, fields.Boolean):
        return isinstance(value, bool), value
    if isinstance(field, (fields.Integer, fields.Float)):
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        return number, value
    if isinstance(field, fields.String) and field.metadata.get("class") in CARRIED:
        return isinstance(value, str), value
    return False, None


def _carry_object(schema, data):
    carried = {}
    for name, field in schema.fields.items():
        key = field.data_key or name
        if key in data:
            keep, value = _carry(field, data[key])
            if keep:
                carried[key] = value
    return carried


def carried_data(event_type, data):
    """The fields of `data` an integrator may see (see the module docstring)."""
    declared = registered().get(event_type)
    if declared is None or not isinstance(data, dict):
        return {}
    schema, sealed = declared
    return {key: value for key, value in _carry_object(schema, data).items() if key not in sealed}


def _actor(actor):
    """The actor's ids and roles: a person's id and roles, a service account's id, a system's
    name; nothing else the actor may carry."""
    if not isinstance(actor, dict):
        return {}
    kept = {}
    for key in ("user_id", "service_account"):
        value = actor.get(key)
        if isinstance(value, str) and UUID_PATTERN.match(value):
            kept[key] = value
    system = actor.get("system")
    if isinstance(system, str) and SLUG_PATTERN.match(system):
        kept["system"] = system
    roles = actor.get("roles")
    if isinstance(roles, list):
        kept["roles"] = [r for r in roles if isinstance(r, str) and SLUG_PATTERN.match(r)]
    return kept


def payload(envelope):
    """The payload of one envelope, as a webhook delivery and the event feed show it."""
    return {
        "id": str(envelope.event_id),
        "type": envelope.event_type,
        "timestamp": envelope.occurred_at,
        "tenant_id": str(envelope.tenant_id),
        "actor": _actor(envelope.actor),
        "data": carried_data(envelope.event_type, envelope.data),
    }
