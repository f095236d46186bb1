"""The caller, the tenant and its members over HTTP and RPC: roles, the last admin, isolation."""

import uuid

from tests.support.amqp import service_rpc

PROBLEM = "application/problem+json"


def _workspace(identity, people=2):
    hd = f"{uuid.uuid4().hex[:8]}.example"
    return [identity.google(hd=hd).json() for _ in range(people)]


def _auth(signed_in):
    return {"Authorization": f"Bearer {signed_in['access_token']}"}


def _put_roles(identity, caller, user_id, roles, **headers):
    return identity.put(
        f"/v1/tenant/members/{user_id}/roles",
        json={"roles": roles},
        headers={**_auth(caller), **headers},
    )


def test_me_is_the_callers_profile_and_tenant(identity):
    (admin,) = _workspace(identity, 1)
    me = identity.get("/v1/me", token=admin["access_token"]).json()
    assert me == {**admin["user"], "tenant": admin["tenant"]}


def test_me_without_a_token_is_a_401_problem(identity):
    response = identity.get("/v1/me")
    assert response.status_code == 401 and response.headers["Content-Type"] == PROBLEM


def test_the_tenant_has_an_etag_of_its_stream_version(identity):
    admin, _ = _workspace(identity)
    response = identity.get("/v1/tenant", token=admin["access_token"])
    assert (
        response.json()["id"] == admin["tenant"]["id"] and response.json()["kind"] == "organization"
    )
    assert response.headers["ETag"] == '"1"'  # created; members join on streams of their own


def test_an_admin_lists_the_members_page_by_page(identity):
    admin, *others = _workspace(identity, 3)
    first = identity.get("/v1/tenant/members?limit=2", token=admin["access_token"]).json()
    rest = identity.get(
        f"/v1/tenant/members?limit=2&cursor={first['next_cursor']}", token=admin["access_token"]
    ).json()
    ids = [member["id"] for member in first["items"] + rest["items"]]
    assert ids == [admin["user"]["id"]] + [other["user"]["id"] for other in others]
    assert rest["next_cursor"] is None


def test_a_requester_may_not_list_the_members(identity):
    _, requester = _workspace(identity)
    assert identity.get("/v1/tenant/members", token=requester["access_token"]).status_code == 403


def test_an_admin_changes_a_members_roles_and_the_next_token_carries_them(identity):
    admin, member = _workspace(identity)
    response = _put_roles(identity, admin, member["user"]["id"], ["agent", "requester"])
    assert response.status_code == 200, response.text
    assert response.json()["roles"] == ["agent", "requester"]
    refreshed = identity.post(
        "/v1/auth/refresh", json={"refresh_token": member["refresh_token"]}
    ).json()
    assert refreshed["user"]["roles"] == ["agent", "requester"]
    changed = identity.events("identity.member_roles_changed")
    assert changed[0]["actor"]["user_id"] == admin["user"]["id"]


def test_a_requester_may_not_change_roles(identity):
    admin, requester = _workspace(identity)
    response = _put_roles(identity, requester, requester["user"]["id"], ["admin"])
    assert response.status_code == 403
    assert identity.get("/v1/me", token=admin["access_token"]).json()["roles"] == ["admin"]


def test_the_last_admin_cannot_lose_the_admin_role(identity):
    admin, _ = _workspace(identity)
    response = _put_roles(identity, admin, admin["user"]["id"], ["agent"])
    assert response.status_code == 409 and response.headers["Content-Type"] == PROBLEM
    assert identity.events("identity.member_roles_changed") == []


def test_an_admin_may_step_down_once_another_admin_exists(identity):
    admin, member = _workspace(identity)
    assert _put_roles(identity, admin, member["user"]["id"], ["admin"]).status_code == 200
    assert _put_roles(identity, admin, admin["user"]["id"], ["agent"]).status_code == 200


def test_an_unknown_role_is_a_400_problem(identity):
    admin, member = _workspace(identity)
    response = _put_roles(identity, admin, member["user"]["id"], ["superuser"])
    assert response.status_code == 400 and "roles" in response.json()["errors"]


def test_a_stale_if_match_is_a_412_problem(identity):
    admin, member = _workspace(identity)
    fresh = _put_roles(identity, admin, member["user"]["id"], ["agent"], **{"If-Match": '"1"'})
    assert fresh.status_code == 200 and fresh.headers["ETag"] == '"2"'  # joined, roles changed
    stale = _put_roles(identity, admin, member["user"]["id"], ["requester"], **{"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.headers["Content-Type"] == PROBLEM


def test_an_admin_of_tenant_a_cannot_touch_or_see_a_member_of_tenant_b(identity):
    admin_a, _ = _workspace(identity)
    admin_b, member_b = _workspace(identity)
    response = _put_roles(identity, admin_a, member_b["user"]["id"], ["admin"])
    assert response.status_code == 404 and response.headers["Content-Type"] == PROBLEM
    listed = identity.get("/v1/tenant/members", token=admin_a["access_token"]).json()["items"]
    assert member_b["user"]["id"] not in {member["id"] for member in listed}
    roles_b = identity.get("/v1/me", token=member_b["access_token"]).json()["roles"]
    assert roles_b == ["requester"]
    assert (
        identity.get("/v1/tenant", token=admin_a["access_token"]).json()["id"]
        == admin_a["tenant"]["id"]
    )


def test_other_services_look_up_users_of_one_tenant_only(identity):
    admin_a, member_a = _workspace(identity)
    _, member_b = _workspace(identity)
    with service_rpc("identity", identity.cfg) as rpc:
        found = rpc.get_users(
            admin_a["tenant"]["id"], [member_a["user"]["id"], member_b["user"]["id"], "not-a-uuid"]
        )
        listed = rpc.list_users(admin_a["tenant"]["id"])
    assert found == [member_a["user"]]
    assert listed == [admin_a["user"], member_a["user"]]


def test_another_tenants_admin_replaying_the_members_cursor_gets_a_400(identity):
    admin, *_ = _workspace(identity, 3)
    stranger, *_ = _workspace(identity, 3)
    first = identity.get("/v1/tenant/members?limit=1", token=admin["access_token"]).json()
    replayed = identity.get(
        f"/v1/tenant/members?limit=1&cursor={first['next_cursor']}", token=stranger["access_token"]
    )
    assert replayed.status_code == 400 and replayed.json()["field"] == "cursor"
    assert admin["user"]["id"] not in replayed.text
