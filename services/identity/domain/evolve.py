"""evolve(state, event) -> state and replay(events): a member's stream builds a Member, a service
account's a ServiceAccount."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from .errors import DomainError
from .model import (
    MEMBER_ERASED,
    MEMBER_ROLES_CHANGED,
    SERVICE_ACCOUNT_EVENTS,
    USER_JOINED,
    Member,
    RecordedEvent,
    ServiceAccount,
)
from .service_accounts import evolve_account


def evolve(state, event: RecordedEvent) -> Member | ServiceAccount:
    """The member (or service account) after `event`. Other event types (a rectified profile)
    only advance the version."""
    if event.type in SERVICE_ACCOUNT_EVENTS:
        return evolve_account(state, event)
    if event.type == USER_JOINED:
        if state is not None:
            raise DomainError(f"member {state.user_id} joined twice")
        return Member(str(event.data["user_id"]), _roles(event.data), version=event.version)
    if state is None:
        raise DomainError(f"a member stream cannot start with {event.type}")
    if event.type == MEMBER_ROLES_CHANGED:
        return replace(state, roles=_roles(event.data), version=event.version)
    if event.type == MEMBER_ERASED:
        return replace(state, roles=(), erased=True, version=event.version)
    return replace(state, version=event.version)


def replay(events: Iterable[RecordedEvent]) -> Member | ServiceAccount | None:
    """The member (or service account) built from the whole stream in order; None for an empty
    stream."""
    state = None
    for event in events:
        state = evolve(state, event)
    return state


def _roles(data) -> tuple[str, ...]:
    return tuple(sorted(data["roles"]))
