"""Another tenant replaying a tenant's cursor or search gets nothing of it; cursors are signed."""

import base64
import json
import uuid


def _b64(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _tenant_a_with_pages(api):
    word = f"zq{uuid.uuid4().hex[:10]}"
    requester, agent = api.user("requester"), api.user("agent")
    opened = {api.open(requester, title=f"Printer {word} jams")["id"] for _ in range(3)}
    first = api.call("GET", f"/v1/tickets?limit=1&q={word}", agent).json()
    assert first["next_cursor"] and first["items"][0]["id"] in opened
    return word, agent, opened, first["next_cursor"]


def test_another_tenants_search_for_a_tenants_words_finds_nothing(api):
    word, _, _, _ = _tenant_a_with_pages(api)
    other = api.other_tenant()
    other.open(other.user("requester"), title="Printer ink")
    found = other.call("GET", f"/v1/tickets?q={word}", other.user("agent"))
    assert found.status_code == 200 and found.json() == {"items": [], "next_cursor": None}


def test_a_cursor_replayed_with_another_tenants_token_is_a_400(api):
    word, _, opened, cursor = _tenant_a_with_pages(api)
    other = api.other_tenant()
    other.open(other.user("requester"), title=f"Printer {word} jams")
    for query in (f"cursor={cursor}", f"cursor={cursor}&q={word}"):
        replayed = other.call("GET", f"/v1/tickets?limit=1&{query}", other.user("agent"))
        assert replayed.status_code == 400, replayed.text
        assert replayed.json()["field"] == "cursor"
        assert not opened & {item["id"] for item in replayed.json().get("items", [])}


def test_a_cursor_pages_on_for_its_own_tenant(api):
    word, agent, opened, cursor = _tenant_a_with_pages(api)
    rest = api.call("GET", f"/v1/tickets?limit=5&q={word}&cursor={cursor}", agent)
    assert rest.status_code == 200 and len(rest.json()["items"]) == 2


def test_an_edited_or_unsigned_cursor_is_a_400(api):
    _, agent, _, cursor = _tenant_a_with_pages(api)
    payload, mac = cursor.split(".")
    position = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = _b64(json.dumps(["2999-01-01T00:00:00+00:00", position[1]]).encode())
    for bad in (
        f"{forged}.{mac}",
        payload,
        f"{payload}.",
        f"{payload}.{mac[:-2]}AA",
        _b64(b'["not a time", "not a uuid"]'),
    ):
        response = api.call("GET", f"/v1/tickets?cursor={bad}", agent)
        assert response.status_code == 400, (bad, response.text)
