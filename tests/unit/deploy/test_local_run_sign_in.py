"""`make run` starts the development sign-in only when nothing real is configured and not in
production."""

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3] / "deploy" / "local"))
from run import development_sign_in_wanted, next_steps  # noqa: E402


def test_with_nothing_configured_make_run_signs_in_through_the_development_provider():
    assert development_sign_in_wanted({})


@pytest.mark.parametrize(
    "env",
    [
        {"GOOGLE_CLIENT_IDS": "1234.apps.googleusercontent.com"},
        {"MICROSOFT_CLIENT_ID": "0b6c5e7e-3a51-4c1e-9f0e-0f6d1a1e2b3c"},
        {"DZDESK_ENV": "production"},
    ],
    ids=["google configured", "microsoft configured", "production"],
)
def test_a_real_client_or_production_leaves_it_out(env):
    assert not development_sign_in_wanted(env)


def test_once_ready_make_run_says_how_to_get_a_token_and_call_the_api(capsys):
    next_steps(True)
    printed = capsys.readouterr().out
    assert "http://127.0.0.1:8080" in printed
    assert 'curl -s -H "Authorization: Bearer $(.venv/bin/dzdesk-dev token --email' in printed
    assert printed.count("curl ") == 3 and "make demo" in printed
