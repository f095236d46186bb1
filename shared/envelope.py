"""The event envelope every producer writes and every consumer reads."""

import dataclasses
import datetime
import re
import uuid

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate

from shared import classified

EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
PLATFORM_TENANT = "00000000-0000-0000-0000-000000000000"


def utcnow():
    return datetime.datetime.now(datetime.UTC)


def system_actor(name):
    """The envelope actor of the service itself acting (a timer, a saga, a rotation)."""
    return {"system": name}


def person_actor(user_id, roles):
    """The envelope actor of a signed-in person: their id and roles, roles sorted."""
    return {"user_id": str(user_id), "roles": sorted(roles)}


def service_account_actor(account_id):
    """The envelope actor of a service account (a program of the tenant): its id alone, so no
    entry made by a program reads as a person's."""
    return {"service_account": str(account_id)}


def actor_of(principal):
    """The envelope actor of an authenticated caller (`shared.auth.Principal`)."""
    if getattr(principal, "kind", "person") == "service_account":
        return service_account_actor(principal.user_id)
    return person_actor(principal.user_id, principal.roles)


@dataclasses.dataclass(frozen=True)
class Envelope:
    event_id: str
    event_type: str
    tenant_id: str
    stream_id: str
    occurred_at: str
    actor: dict
    correlation_id: str
    data: dict
    schema_version: int = 1
    stream_version: int | None = None
    causation_id: str | None = None
    pii: dict | None = None

    @classmethod
    def new(
        cls,
        event_type,
        tenant_id,
        stream_id,
        data,
        *,
        actor,
        correlation_id=None,
        causation_id=None,
        pii=None,
        schema_version=1,
        occurred_at=None,
    ):
        # every field keeps to its declared class before anything can store or publish it
        classified.check(event_type, data, pii)
        event_id = str(uuid.uuid4())
        return cls(
            event_id=event_id,
            event_type=event_type,
            tenant_id=str(tenant_id),
            stream_id=str(stream_id),
            occurred_at=(occurred_at or utcnow()).isoformat(),
            actor=actor,
            correlation_id=correlation_id or event_id,
            causation_id=causation_id,
            data=data,
            pii=pii or None,
            schema_version=schema_version,
        )

    @property
    def service(self):
        return self.event_type.split(".", 1)[0]

    @property
    def name(self):
        """The event name without its service: the routing key on `<service>.events`."""
        return self.event_type.split(".", 1)[1]

    @property
    def occurred(self):
        return datetime.datetime.fromisoformat(self.occurred_at)

    def with_version(self, stream_version):
        return dataclasses.replace(self, stream_version=stream_version)

    def to_dict(self):
        # shallow on purpose: dataclasses.asdict deep-copies and was most of an append's cost
        body = {name: getattr(self, name) for name in _FIELDS}
        if body["pii"] is None:
            del body["pii"]
        return body


class ActorSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    user_id = fields.String()
    roles = fields.List(fields.String())
    system = fields.String()
    service_account = fields.String()


class EnvelopeSchema(Schema):
    """Validates envelopes at every boundary; unknown fields are tolerated and dropped."""

    class Meta:
        unknown = EXCLUDE

    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True, validate=validate.Regexp(EVENT_TYPE))
    schema_version = fields.Integer(load_default=1, validate=validate.Range(min=1))
    tenant_id = fields.UUID(required=True)
    stream_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    stream_version = fields.Integer(allow_none=True, load_default=None)
    occurred_at = fields.AwareDateTime(required=True, format="iso")
    actor = fields.Nested(ActorSchema, required=True)
    correlation_id = fields.String(required=True)
    causation_id = fields.String(allow_none=True, load_default=None)
    data = fields.Dict(keys=fields.String(), required=True)
    pii = fields.Dict(keys=fields.String(), allow_none=True, load_default=None)

    @post_load
    def make_envelope(self, values, **kwargs):
        values["event_id"] = str(values["event_id"])
        values["tenant_id"] = str(values["tenant_id"])
        values["occurred_at"] = values["occurred_at"].isoformat()
        return Envelope(**values)


_schema = EnvelopeSchema()
_upcasters = {}


def upcaster(event_type, from_version):
    """Register a function turning `data` of an older schema_version into the next one."""

    def register(fn):
        _upcasters[(event_type, from_version)] = fn
        return fn

    return register


def load_envelope(body):
    """Validate a received envelope and bring its data to the newest schema."""
    return upcast(_schema.load(body))


def from_stored(body):
    """An envelope our own store wrote (validated then), brought to the newest schema."""
    return upcast(Envelope(**{name: body[name] for name in _FIELDS if name in body}))


def upcast(envelope):
    while (envelope.event_type, envelope.schema_version) in _upcasters:
        upcast = _upcasters[(envelope.event_type, envelope.schema_version)]
        envelope = dataclasses.replace(
            envelope, data=upcast(envelope.data), schema_version=envelope.schema_version + 1
        )
    return envelope


_FIELDS = tuple(f.name for f in dataclasses.fields(Envelope))


__all__ = [
    "Envelope",
    "EnvelopeSchema",
    "ValidationError",
    "load_envelope",
    "from_stored",
    "upcaster",
    "system_actor",
    "service_account_actor",
    "utcnow",
    "PLATFORM_TENANT",
]
