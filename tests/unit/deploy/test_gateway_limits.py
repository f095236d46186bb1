"""Fair limits at the gateway, on a real nginx: a bucket per access token, one per client
address for requests without one, a coarse ceiling per address; 429s say when to come back and
every answer names its policy (RateLimit-Policy / RateLimit, IETF httpapi draft)."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys

import pytest
from deploy_test_support import NGINX, fake_services, load_renderer, request, running_gateway

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")

render = load_renderer()
TIGHT = render.RateLimits(
    token_rate=1, token_burst=3, anonymous_rate=1, anonymous_burst=3, address_burst=400
)


def token() -> str:
    """Something shaped like one of identity's JWTs (the gateway never verifies it)."""
    return "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0." + secrets.token_urlsafe(64)


def until_refused(port, headers, tries=50):
    """(answers before the first 429, that 429's headers)."""
    for served in range(tries):
        status, answer, _ = request(port, "GET", "/v1/tickets", headers=headers)
        if status == 429:
            return served, answer
        assert status == 200
    raise AssertionError(f"no 429 in {tries} requests")


@pytest.fixture(scope="module")
def tight_gateway():
    with fake_services() as upstreams, running_gateway(upstreams, limits=TIGHT) as port:
        yield port


def test_two_tokens_from_one_address_get_separate_buckets(tight_gateway):
    first, second = token(), token()
    served, _ = until_refused(tight_gateway, {"Authorization": f"Bearer {first}"})
    assert served >= TIGHT.token_burst  # the burst is served at once
    status, _, _ = request(
        tight_gateway, "GET", "/v1/tickets", headers={"Authorization": f"Bearer {second}"}
    )
    assert status == 200  # the same address, another token: its own bucket
    status, _, _ = request(tight_gateway, "GET", "/v1/tickets")
    assert status == 200  # and callers without a token have theirs


def test_a_429_says_when_to_retry_and_which_policy_refused(tight_gateway):
    _, refused = until_refused(tight_gateway, {"Authorization": f"Bearer {token()}"})
    assert refused["Retry-After"] == "1"
    assert refused["RateLimit"] == '"per-token";r=0;t=1'
    assert refused["RateLimit-Policy"] == '"per-token";q=1;w=1'
    assert refused["Content-Type"].startswith("application/problem+json")


def test_every_answer_names_the_policy_of_its_bucket(tight_gateway):
    status, answer, _ = request(
        tight_gateway, "GET", "/v1/me", headers={"Authorization": f"Bearer {token()}"}
    )
    assert status == 200 and answer["RateLimit-Policy"] == '"per-token";q=1;w=1'
    _, anonymous, _ = request(tight_gateway, "GET", "/v1/auth/jwks")
    assert anonymous["RateLimit-Policy"] == '"per-client";q=1;w=1'


def test_requests_without_a_token_share_one_bucket_per_address(tight_gateway):
    served, refused = until_refused(tight_gateway, {})
    assert served <= TIGHT.anonymous_burst + 4  # the burst, and a token a second after
    assert refused["RateLimit"] == '"per-client";r=0;t=1'


def test_new_tokens_for_every_request_still_meet_the_address_ceiling():
    ceiling = render.RateLimits(address_rate=1, address_burst=5)
    with fake_services() as upstreams, running_gateway(upstreams, limits=ceiling) as port:
        statuses = [
            request(port, "GET", "/v1/tickets", headers={"Authorization": f"Bearer {token()}"})[0]
            for _ in range(16)
        ]
    # the burst of 5, and a token a second after: far fewer than the per-token buckets allow
    assert 429 in statuses and statuses.index(429) <= 10


def test_the_merged_document_and_the_reference_page_are_served_by_the_gateway():
    with fake_services() as upstreams, running_gateway(upstreams) as port:
        status, headers, body = request(port, "GET", "/v1/openapi.json")
        page = request(port, "GET", "/docs")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert body == (NGINX / "openapi.json").read_bytes()
    assert headers["Cache-Control"] == "max-age=300" and headers["X-Request-ID"]
    status, headers, body = page
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"/v1/openapi.json" in body


# --- configuring the limits ------------------------------------------------------------------


def test_the_defaults_are_the_documented_ones_and_each_is_rendered():
    defaults = render.RateLimits()
    assert (defaults.token_rate, defaults.token_burst) == (20, 40)
    assert (defaults.anonymous_rate, defaults.address_rate, defaults.retry_after) == (20, 200, 1)
    text = render.render(run_dir="/tmp/run", limits=render.RateLimits(token_rate=7, retry_after=3))
    assert "zone=dz_per_token:10m rate=7r/s" in text
    assert '"per-token";q=7;w=1' in text and "add_header Retry-After 3 always;" in text


def test_limits_come_from_the_environment_and_bad_values_are_refused():
    limits = render.RateLimits.from_env(
        {"DZDESK_GATEWAY_TOKEN_RATE": "50", "DZDESK_GATEWAY_TOKEN_ZONE": "32m"}
    )
    assert (limits.token_rate, limits.token_zone, limits.token_burst) == (50, "32m", 40)
    for wrong in ({"token_rate": 0}, {"address_burst": -1}, {"token_zone": "lots"}):
        with pytest.raises(render.RenderError):
            render.RateLimits(**wrong)


def test_the_command_line_takes_the_limits(tmp_path):
    out = tmp_path / "nginx.conf"
    subprocess.run(
        [sys.executable, str(NGINX / "render.py"), "--out", str(out), "--token-rate", "9"],
        check=True,
    )
    assert "zone=dz_per_token:10m rate=9r/s" in out.read_text()
