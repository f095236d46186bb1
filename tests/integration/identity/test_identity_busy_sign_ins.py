"""A whole organization signing in at once, and the admin nobody gets by accident."""

import uuid

import eventlet
import pytest
from nameko.exceptions import RemoteError

from tests.support.amqp import service_rpc

PROBLEM = "application/problem+json"
PEOPLE, AT_ONCE = 200, 8


def _auth(signed_in):
    return {"Authorization": f"Bearer {signed_in['access_token']}"}


def _org(identity, people):
    hd = f"{uuid.uuid4().hex[:8]}.example"
    return [identity.google(hd=hd).json() for _ in range(people)]


def _roles(identity, caller, user_id, roles):
    return identity.put(
        f"/v1/tenant/members/{user_id}/roles", json={"roles": roles}, headers=_auth(caller)
    )


def _fresh(identity, signed_in):
    """New tokens (carrying the member's current roles)."""
    return identity.post(
        "/v1/auth/refresh", json={"refresh_token": signed_in["refresh_token"]}
    ).json()


def test_two_hundred_first_sign_ins_of_one_organization_all_succeed_with_one_admin(identity):
    hd = f"{uuid.uuid4().hex[:8]}.example"
    answers = list(
        eventlet.GreenPool(AT_ONCE).imap(lambda _: identity.google(hd=hd), range(PEOPLE))
    )
    assert [a.status_code for a in answers] == [200] * PEOPLE, {
        a.text for a in answers if a.status_code != 200
    }
    tenants = {a.json()["tenant"]["id"] for a in answers}
    assert len(tenants) == 1
    roles = sorted(a.json()["user"]["roles"] for a in answers)
    assert roles == [["admin"]] + [["requester"]] * (PEOPLE - 1)
    assert identity.rows("SELECT count(*) FROM users WHERE 'admin' = ANY(roles)") == [(1,)]
    assert identity.rows(
        "SELECT count(*) FROM events WHERE event_type = 'identity.tenant_created'"
    ) == [(1,)]


def test_members_join_on_streams_of_their_own(identity):
    admin, member = _org(identity, 2)
    streams = {
        row[0]
        for row in identity.rows(
            "SELECT stream_id FROM events WHERE event_type = 'identity.user_joined'"
        )
    }
    assert streams == {f"user-{admin['user']['id']}", f"user-{member['user']['id']}"}


def test_the_last_admin_cannot_erase_themselves_while_others_remain(identity):
    admin, member = _org(identity, 2)
    refused = identity.delete("/v1/me", headers=_auth(admin))
    assert refused.status_code == 409 and refused.headers["Content-Type"] == PROBLEM
    assert "last admin" in refused.json()["detail"]
    assert _roles(identity, admin, member["user"]["id"], ["admin"]).status_code == 200
    assert identity.delete("/v1/me", headers=_auth(admin)).status_code == 202


def test_the_only_member_may_erase_themselves(identity):
    (alone,) = _org(identity, 1)
    assert identity.delete("/v1/me", headers=_auth(alone)).status_code == 202


def test_purging_the_last_admin_while_others_remain_is_refused_and_nobody_is_promoted(identity):
    hd = f"{uuid.uuid4().hex[:8]}.example"
    admin, _ = identity.google(hd=hd).json(), identity.google(hd=hd).json()
    with service_rpc("identity", identity.cfg) as rpc:
        with pytest.raises(RemoteError) as refused:
            rpc.purge_subject(admin["tenant"]["id"], admin["user"]["id"], str(uuid.uuid4()))
    assert refused.value.exc_type == "LastAdminRequired"
    assert identity.get("/v1/me", token=admin["access_token"]).json()["roles"] == ["admin"]
    later = identity.google(hd=hd).json()
    assert (later["tenant"]["id"], later["user"]["roles"]) == (admin["tenant"]["id"], ["requester"])


def test_two_admins_stepping_down_at_once_leave_one_admin(identity):
    first, second = _org(identity, 2)
    assert _roles(identity, first, second["user"]["id"], ["admin"]).status_code == 200
    admins = [first, _fresh(identity, second)]

    def step_down(who):
        return _roles(identity, who, who["user"]["id"], ["agent"]).status_code

    statuses = sorted(eventlet.GreenPool(2).imap(step_down, admins))
    assert statuses == [200, 409]
    assert identity.rows("SELECT count(*) FROM users WHERE 'admin' = ANY(roles)") == [(1,)]
