"""The guard every service runs at start: development sign-in never in production, loudly labelled
elsewhere."""

import pytest
from structlog.testing import capture_logs

from shared.environment import DevelopmentSignInInProduction, guard_development_sign_in

DEV_URL = "http://127.0.0.1:8009"


@pytest.mark.parametrize(
    "settings",
    [
        {"DZDESK_DEV_SIGN_IN_URL": DEV_URL},
        {
            "GOOGLE_CLIENT_IDS": "real.apps.googleusercontent.com,"
            "dzdesk-dev-1a2b.apps.googleusercontent.com"
        },
        {"MICROSOFT_CLIENT_ID": "dzdesk-dev-0b6c5e7e-3a51-4c1e-9f0e-0f6d1a1e2b3c"},
    ],
    ids=["the provider's address", "a development google client", "a development microsoft client"],
)
def test_production_refuses_a_development_sign_in(settings):
    with pytest.raises(DevelopmentSignInInProduction, match="refusing to start"):
        guard_development_sign_in({"DZDESK_ENV": "production", **settings})


def test_production_with_real_clients_starts():
    assert (
        guard_development_sign_in(
            {
                "DZDESK_ENV": "production",
                "GOOGLE_CLIENT_IDS": "1234.apps.googleusercontent.com",
                "MICROSOFT_CLIENT_ID": "0b6c5e7e-3a51-4c1e-9f0e-0f6d1a1e2b3c",
            }
        )
        is None
    )


def test_outside_production_a_development_sign_in_is_labelled_and_logged_as_a_warning():
    with capture_logs() as logged:
        label = guard_development_sign_in({"DZDESK_DEV_SIGN_IN_URL": DEV_URL})
    assert "DEVELOPMENT SIGN-IN" in label and DEV_URL in label
    assert [
        entry["log_level"] for entry in logged if entry["event"] == "development_sign_in_enabled"
    ] == ["warning"]


def test_nothing_is_said_without_a_development_sign_in():
    with capture_logs() as logged:
        assert (
            guard_development_sign_in({"GOOGLE_CLIENT_IDS": "1234.apps.googleusercontent.com"})
            is None
        )
    assert logged == []
