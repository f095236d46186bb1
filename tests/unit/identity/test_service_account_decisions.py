"""Service accounts given/when/then: the roles a program may hold, at most two live secrets
(a rotation brings the older one's expiry forward), revocation for good; and their events keep
to identity's classified catalogue."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.identity import events as _catalogue  # noqa: F401 (declares the event types)
from services.identity.domain import (
    AddSecret,
    CreateServiceAccount,
    DomainError,
    ForbiddenRole,
    RecordedEvent,
    RevokeServiceAccount,
    TooManySecrets,
    UnknownRole,
    UnknownServiceAccount,
    decide,
    evolve,
)
from shared import classified
from shared.auth import new_service_account_id

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
YEAR = timedelta(days=365)


class AccountStream:
    """One service account's stream: commands decided on its folded state, events folded."""

    def __init__(self):
        self.account_id = new_service_account_id()
        self.events: list[RecordedEvent] = []
        self.state = None

    def given(self, *commands):
        for command in commands:
            self.when(command)
        return self

    def when(self, command):
        decided = decide(self.state, command)
        for event in decided:
            recorded = RecordedEvent(event.type, event.data, len(self.events) + 1)
            self.events.append(recorded)
            self.state = evolve(self.state, recorded)
        return decided

    def create(self, roles=("agent",), secret_id=None, now=NOW):
        return CreateServiceAccount(
            account_id=self.account_id,
            name="CI importer",
            roles=roles,
            secret_id=secret_id or str(uuid.uuid4()),
            now=now,
            expires_at=now + YEAR,
        )

    def rotate(self, now=NOW, overlap=timedelta(days=7), secret_id=None):
        return AddSecret(
            account_id=self.account_id,
            secret_id=secret_id or str(uuid.uuid4()),
            now=now,
            expires_at=now + YEAR,
            previous_expires_at=now + overlap,
        )


@pytest.fixture
def account():
    return AccountStream()


def test_creating_an_account_records_its_roles_and_first_secret(account):
    (event,) = account.when(account.create(roles=["requester", "agent"]))
    assert event.type == "service_account_created" and event.stream == "service_account"
    assert event.data["roles"] == ["agent", "requester"]
    assert account.state.roles == ("agent", "requester")
    assert [s.expires_at for s in account.state.live_secrets(NOW)] == [NOW + YEAR]


@pytest.mark.parametrize("role", ["admin", "privacy_officer"])
def test_an_account_cannot_be_given_admin_or_privacy_officer(account, role):
    with pytest.raises(ForbiddenRole, match=role):
        account.when(account.create(roles=["agent", role]))
    assert account.events == []


def test_unknown_roles_and_no_role_are_refused(account):
    with pytest.raises(UnknownRole):
        account.when(account.create(roles=["wizard"]))
    with pytest.raises(UnknownRole):
        account.when(account.create(roles=[]))


def test_an_account_is_created_once(account):
    account.given(account.create())
    with pytest.raises(DomainError):
        account.when(account.create())


def test_rotation_adds_a_second_live_secret_and_brings_the_first_ones_expiry_forward(account):
    first = str(uuid.uuid4())
    account.given(account.create(secret_id=first))
    later = NOW + timedelta(days=30)
    (event,) = account.when(account.rotate(now=later, overlap=timedelta(hours=1)))
    assert event.data["shortened"] == [
        {"secret_id": first, "expires_at": (later + timedelta(hours=1)).isoformat()}
    ]
    assert len(account.state.live_secrets(later)) == 2
    (survivor,) = account.state.live_secrets(later + timedelta(hours=2))
    assert survivor.secret_id == event.data["secret_id"]


def test_a_third_live_secret_is_refused_until_the_older_one_expires(account):
    account.given(account.create(), account.rotate(overlap=timedelta(hours=1)))
    with pytest.raises(TooManySecrets):
        account.when(account.rotate(now=NOW + timedelta(minutes=30)))
    (event,) = account.when(account.rotate(now=NOW + timedelta(hours=2)))
    assert len(account.state.live_secrets(NOW + timedelta(hours=2))) == 2
    assert event.type == "service_account_secret_added"


def test_an_overlap_longer_than_the_secrets_life_leaves_its_expiry_alone(account):
    account.given(account.create())
    (event,) = account.when(account.rotate(overlap=2 * YEAR))
    assert event.data["shortened"] == []


def test_a_revoked_account_takes_no_rotation_and_no_second_revocation(account):
    account.given(account.create(), RevokeServiceAccount(account_id=account.account_id))
    assert account.state.revoked
    with pytest.raises(UnknownServiceAccount):
        account.when(account.rotate())
    with pytest.raises(UnknownServiceAccount):
        account.when(RevokeServiceAccount(account_id=account.account_id))


def test_an_account_that_was_never_created_cannot_be_rotated_or_revoked(account):
    with pytest.raises(UnknownServiceAccount):
        account.when(account.rotate())
    with pytest.raises(UnknownServiceAccount):
        account.when(RevokeServiceAccount(account_id=account.account_id))


def test_every_service_account_event_keeps_to_its_classes_and_seals_nothing(account):
    account.given(
        account.create(), account.rotate(), RevokeServiceAccount(account_id=account.account_id)
    )
    for event in account.events:
        classified.check("identity." + event.type, event.data, None)
        _, sealed = classified.registered()["identity." + event.type]
        assert sealed == frozenset()
