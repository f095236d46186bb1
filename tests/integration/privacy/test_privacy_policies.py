"""Policy versions: platform admins publish, users accept, current says whether the caller did."""

import pytest

from shared.envelope import PLATFORM_TENANT
from tests.integration.privacy.conftest import new_id


@pytest.fixture
def suite(privacy_only):
    return privacy_only()


def publish(suite, version, roles=("platform_admin",), user=None):
    return suite.post(
        "/v1/privacy/policies",
        {
            "version": version,
            "title": f"Privacy policy {version}",
            "url": "https://dzdesk.example/privacy",
        },
        new_id(),
        user or new_id(),
        roles,
    )


def test_a_published_version_is_current_and_not_yet_accepted(suite):
    assert publish(suite, "2026-03").status_code == 201
    current = suite.get("/v1/privacy/policies/current", new_id(), new_id())
    assert current.status_code == 200
    assert current.json()["version"] == "2026-03" and current.json()["accepted"] is False


def test_an_acceptance_is_recorded_for_the_caller_only(suite):
    tenant, user = new_id(), new_id()
    publish(suite, "2026-04")
    accepted = suite.post("/v1/privacy/policies/2026-04/acceptance", {}, tenant, user)
    again = suite.post("/v1/privacy/policies/2026-04/acceptance", {}, tenant, user)
    assert (accepted.status_code, again.status_code) == (201, 200)
    assert suite.get("/v1/privacy/policies/current", tenant, user).json()["accepted"] is True
    assert suite.get("/v1/privacy/policies/current", tenant, new_id()).json()["accepted"] is False


def test_a_newer_version_needs_a_new_acceptance(suite):
    tenant, user = new_id(), new_id()
    publish(suite, "v1")
    suite.post("/v1/privacy/policies/v1/acceptance", {}, tenant, user)
    publish(suite, "v2")
    current = suite.get("/v1/privacy/policies/current", tenant, user).json()
    assert current["version"] == "v2" and current["accepted"] is False


def test_publishing_announces_the_version_platform_wide(suite):
    publish(suite, "2026-05")
    rows = suite.privacy_rows(
        "SELECT tenant_id::text, envelope FROM events WHERE event_type = 'privacy.policy_published'"
    )
    assert [(tenant, envelope["data"]["version"]) for tenant, envelope in rows] == [
        (PLATFORM_TENANT, "2026-05")
    ]


def test_a_tenant_admin_cannot_publish_a_policy(suite):
    assert publish(suite, "2026-06", roles=("admin",)).status_code == 403


def test_a_user_listed_in_platform_admins_may_publish(privacy_only):
    admin = new_id()
    suite = privacy_only(PLATFORM_ADMINS=f"{new_id()},{admin}")
    assert publish(suite, "2026-07", roles=("requester",), user=admin).status_code == 201


def test_a_version_is_published_once(suite):
    publish(suite, "2026-08")
    assert publish(suite, "2026-08").status_code == 409


def test_accepting_an_unknown_version_is_not_found(suite):
    response = suite.post("/v1/privacy/policies/nope/acceptance", {}, new_id(), new_id())
    assert response.status_code == 404


def test_without_a_published_policy_current_is_not_found(suite):
    assert suite.get("/v1/privacy/policies/current", new_id(), new_id()).status_code == 404
