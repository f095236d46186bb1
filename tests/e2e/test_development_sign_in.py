"""`dzdesk-dev token` through the gateway: a real sign-in with a development ID token, ready for
curl."""

import io
import json
import uuid

from dzdesk_dev import cli


def _token(suite, *args):
    out = io.StringIO()
    code = cli.main(
        ["token", *args, "--gateway", suite.gateway, "--sign-in", suite.provider.http_url], out=out
    )
    assert code == 0
    return out.getvalue().strip()


def test_the_printed_access_token_works_at_once(suite):
    domain = f"acme-{uuid.uuid4().hex[:6]}.test"
    token = _token(suite, "--email", f"alice@{domain}", "--name", "Alice Example")
    me = suite.request("GET", "/v1/me", token)
    assert me.status_code == 200, me.text
    assert (me.json()["email"], me.json()["name"]) == (f"alice@{domain}", "Alice Example")
    created = suite.request(
        "POST", "/v1/tickets", token, json={"type": "incident", "title": "Printer"}
    )
    assert created.status_code == 201, created.text


def test_the_same_email_signs_in_as_the_same_member_of_its_organization(suite):
    domain = f"acme-{uuid.uuid4().hex[:6]}.test"
    first = json.loads(_token(suite, "--email", f"alice@{domain}", "--json"))
    again = json.loads(_token(suite, "--email", f"alice@{domain}", "--json"))
    colleague = json.loads(_token(suite, "--email", f"bob@{domain}", "--json"))
    assert again["user"]["id"] == first["user"]["id"] and first["user"]["roles"] == ["admin"]
    assert colleague["tenant"]["id"] == first["tenant"]["id"]
    assert colleague["user"]["roles"] == ["requester"]
    assert {"access_token", "refresh_token"} <= set(first)


def test_an_org_and_a_microsoft_tenant_are_organizations_of_their_own(suite):
    marker = uuid.uuid4().hex[:6]
    google = json.loads(
        _token(suite, "--email", f"ann@{marker}.test", "--org", f"corp-{marker}.test", "--json")
    )
    microsoft = json.loads(
        _token(
            suite,
            "--email",
            f"ann@{marker}.test",
            "--microsoft-tenant",
            f"globex-{marker}",
            "--json",
        )
    )
    assert google["tenant"]["id"] != microsoft["tenant"]["id"]
    assert microsoft["user"]["roles"] == ["admin"]
