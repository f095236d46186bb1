"""Fixtures for identity unit tests (the fake OIDC `provider` comes from tests/conftest.py)
and the given/when/then harness of the membership domain."""

import uuid

import pytest

from services.identity.domain import TENANT, Member, NewEvent, RecordedEvent, decide, evolve


@pytest.fixture
def trust_fake_tls(provider, monkeypatch):
    """Make requests (and so msal) trust the fake provider's self-signed CA for this test only."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", provider.ca_bundle_path)
    return provider.ca_bundle_path


class ManualClock:
    """A monotonic clock the test moves forward, so cache expiry needs no sleeping."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return ManualClock()


class TenantStreams:
    """One tenant's streams for given/when/then: commands run through decide with the members
    read model the service would pass, their events recorded and folded with evolve."""

    def __init__(self):
        self.tenant_events: list[NewEvent] = []
        self.member_events: dict[str, list[RecordedEvent]] = {}
        self.states: dict[str, Member | None] = {}

    def members(self) -> dict:
        """{user id: roles} of the members not erased, as store.lock_members reads them."""
        return {user: state.roles for user, state in self.states.items() if state and state.roles}

    def state(self, user_id: str) -> Member | None:
        return self.states.get(user_id)

    def given(self, *commands) -> "TenantStreams":
        for command in commands:
            self.when(command)
        return self

    def when(self, command) -> list[NewEvent]:
        user_id = command.user_id
        decided = decide(self.state(user_id), command, self.members())
        for event in decided:
            if event.stream == TENANT:
                self.tenant_events.append(event)
                continue
            stream = self.member_events.setdefault(user_id, [])
            recorded = RecordedEvent(event.type, event.data, len(stream) + 1)
            stream.append(recorded)
            self.states[user_id] = evolve(self.state(user_id), recorded)
        return decided


@pytest.fixture
def tenant():
    """An empty TenantStreams (no tenant created yet)."""
    return TenantStreams()


@pytest.fixture
def new_id():
    """new_id() -> a random id."""
    return lambda: str(uuid.uuid4())
