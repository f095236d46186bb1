"""Fixtures for identity unit tests (the fake OIDC `provider` comes from tests/conftest.py)."""

import pytest


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
