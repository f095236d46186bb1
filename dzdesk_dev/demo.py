"""`make demo`: a guided tour of the running suite through the gateway; exits non-zero when a step
does not hold."""

import io
import sys
import time
import uuid
import zipfile

import requests

from dzdesk_dev import sign_in
from services.privacy.bundle import verify_bundle


class StepFailed(Exception):
    """What the tour expected and what it got instead."""


class Tour:
    """Numbered steps in plain words, each with what the API answered, and the checks
    they rest on."""

    def __init__(self, gateway: str, provider_url: str, out, timeout: float = 90.0):
        self.gateway, self.provider_url, self.out, self.timeout = (
            gateway,
            provider_url,
            out,
            timeout,
        )
        self.steps = 0

    def step(self, text: str) -> None:
        self.steps += 1
        print(f"\n{self.steps}. {text}", file=self.out, flush=True)

    def shows(self, text: str) -> None:
        print(f"   {text}", file=self.out, flush=True)

    @staticmethod
    def holds(condition, what: str) -> None:
        if not condition:
            raise StepFailed(what)

    def call(self, method: str, path: str, token=None, expect=200, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = requests.request(
            method, self.gateway + path, headers=headers, timeout=15, **kwargs
        )
        if response.status_code != expect:
            raise StepFailed(
                f"{method} {path} answered {response.status_code} (expected {expect}): "
                f"{response.text[:400]}"
            )
        return response

    def eventually(self, probe, what: str):
        deadline = time.monotonic() + self.timeout
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise StepFailed(f"{what} did not happen within {self.timeout:.0f}s")
            time.sleep(0.25)

    def sign_in(self, email, name, **where) -> dict:
        try:
            return sign_in.sign_in(
                email, name, gateway=self.gateway, provider_url=self.provider_url, **where
            )
        except sign_in.SignInFailed as exc:
            raise StepFailed(str(exc)) from None

    def refreshed(self, answer: dict) -> dict:
        return self.call(
            "POST", "/v1/auth/refresh", json={"refresh_token": answer["refresh_token"]}
        ).json()


def _agent_view(ticket: dict) -> list[str]:
    lines = [f"title:       {ticket['title']}", f"description: {ticket['description']}"]
    for comment in ticket["comments"]:
        kind = "public" if comment["public"] else "internal"
        lines.append(f"{kind} comment: {comment['body']}")
    return lines


def _clock(name: str, clock: dict) -> str:
    target = f"{name.replace('_', ' ')}: target {clock['target_minutes']} min"
    if clock["met_at"]:
        return f"{target}, met at {clock['met_at']}"
    if clock["breached"]:
        return f"{target}, breached (was due {clock['due_at']})"
    paused = ", paused" if clock["paused"] else ""
    return (
        f"{target}, due {clock['due_at']}, {clock['remaining_seconds'] / 60:.0f} min left{paused}"
    )


def tour(t: Tour) -> None:
    run = uuid.uuid4().hex[:6]
    acme, globex = f"acme-{run}.test", f"globex-{run}.test"

    t.step("Two organizations sign in, one with Google Workspace, one with Microsoft")
    alice = t.sign_in(f"alice@{acme}", "Alice Admin", org=acme)
    t.holds(alice["user"]["roles"] == ["admin"], "the first member of an organization is its admin")
    t.shows(
        f"Alice (Google, {acme}) is the first of her organization, so its admin: "
        f"tenant {alice['tenant']['id']}"
    )
    ana = t.sign_in(f"ana@{globex}", "Ana Admin", microsoft_tenant=globex)
    t.holds(ana["user"]["roles"] == ["admin"], "Ana is the first member of Globex, so its admin")
    t.holds(ana["tenant"]["id"] != alice["tenant"]["id"], "Globex is a tenant of its own")
    t.shows(
        f"Ana (Microsoft, tenant {sign_in.microsoft_tenant_id(globex)}) admin of another tenant: "
        f"{ana['tenant']['id']}"
    )

    t.step("Bob and Carol of Acme sign in and join as requesters; Alice makes Bob an agent")
    bob = t.sign_in(f"bob@{acme}", "Bob Agent", org=acme)
    carol = t.sign_in(f"carol@{acme}", "Carol Requester", org=acme)
    t.holds(
        {bob["tenant"]["id"], carol["tenant"]["id"]} == {alice["tenant"]["id"]}, "they join Acme"
    )
    t.holds(carol["user"]["roles"] == ["requester"], "later members join as requesters")
    t.call(
        "PUT",
        f"/v1/tenant/members/{bob['user']['id']}/roles",
        alice["access_token"],
        json={"roles": ["agent"]},
    )
    bob = t.refreshed(bob)
    t.holds(bob["user"]["roles"] == ["agent"], "Bob's refreshed token carries the agent role")
    t.shows(f"Bob's roles: {bob['user']['roles']}; Carol's: {carol['user']['roles']}")

    t.step("Carol opens an incident")
    description = f"Since Monday my VPN drops every hour. Call me on +33 6 12 34 56 78. ({run})"
    opened = t.call(
        "POST",
        "/v1/tickets",
        carol["access_token"],
        expect=201,
        json={
            "type": "incident",
            "title": "VPN drops every hour",
            "description": description,
            "urgency": "high",
            "impact": "medium",
        },
    ).json()
    ticket = opened["id"]
    t.shows(f"ticket {ticket}: {opened['status']}, priority {opened['priority']}")

    t.step("Ana of Globex looks for it: another tenant's ticket does not exist for her")
    t.call("GET", f"/v1/tickets/{ticket}", ana["access_token"], expect=404)
    t.shows("404 Not Found")

    t.step("Bob takes it: assigns it to himself and starts work")
    current = t.call("GET", f"/v1/tickets/{ticket}", bob["access_token"])
    t.call(
        "PATCH",
        f"/v1/tickets/{ticket}",
        bob["access_token"],
        headers={"If-Match": current.headers["ETag"]},
        json={"assignee_id": bob["user"]["id"]},
    )
    taken = t.call(
        "POST", f"/v1/tickets/{ticket}/transitions", bob["access_token"], json={"to": "in_progress"}
    ).json()
    t.holds(
        taken["assignee_id"] == bob["user"]["id"] and taken["status"] == "in_progress",
        "the ticket is Bob's and in progress",
    )
    t.shows(f"status {taken['status']}, assignee Bob ({taken['assignee_id']})")

    t.step("Bob writes an internal note and a public reply; Carol answers")
    internal = "Looks like the DHCP lease on her dock; checking the switch port first."
    public = "Thanks Carol, I am on it. Could you tell me when it drops next?"
    carols = f"It dropped again at 10:00, I was on a call with a customer. ({run})"
    t.call(
        "POST",
        f"/v1/tickets/{ticket}/comments",
        bob["access_token"],
        expect=201,
        json={"body": internal, "public": False},
    )
    t.call(
        "POST",
        f"/v1/tickets/{ticket}/comments",
        bob["access_token"],
        expect=201,
        json={"body": public, "public": True},
    )
    t.call(
        "POST",
        f"/v1/tickets/{ticket}/comments",
        carol["access_token"],
        expect=201,
        json={"body": carols, "public": True},
    )
    seen_by_carol = t.call("GET", f"/v1/tickets/{ticket}", carol["access_token"]).json()
    bodies = [comment["body"] for comment in seen_by_carol["comments"]]
    t.holds(public in bodies and internal not in bodies, "Carol sees the reply, never the note")
    t.shows(
        f"Carol sees {len(bodies)} comments, the public ones; Bob's internal note is not among them"
    )

    t.step("The SLA clock of the ticket")
    sla = t.call("GET", f"/v1/tickets/{ticket}", bob["access_token"]).json()["sla"]
    clocks = {name: clock for name, clock in sla.items() if isinstance(clock, dict)}
    t.holds(set(clocks) == {"first_response", "resolution"}, "both SLA clocks run")
    t.holds(sla["first_response"]["met_at"], "Bob starting work was the first response")
    for name, clock in clocks.items():
        t.shows(_clock(name, clock))
    t.shows(f"under the SLA policy {sla['policy_id']!r} (the tenant has no other)")

    t.step("Alice becomes compliance officer too and verifies Acme's audit log")
    t.call(
        "PUT",
        f"/v1/tenant/members/{alice['user']['id']}/roles",
        alice["access_token"],
        json={"roles": ["admin", "compliance_officer"]},
    )
    alice = t.refreshed(alice)

    def audited():
        items = t.call("GET", "/v1/audit/events?limit=200", alice["access_token"]).json()["items"]
        types = [item["envelope"]["event_type"] for item in items]
        return types if types.count("ticketing.comment_added") >= 3 else None

    types = t.eventually(audited, "the ticket's events reaching the audit log")
    verified = t.call("GET", "/v1/audit/verify", alice["access_token"]).json()
    t.holds(verified["ok"] is True, f"the audit chain verifies: {verified}")
    t.shows(f"{len(types)} entries, from {types[0]} to {types[-1]}; every hash links: chain intact")

    t.step("Carol downloads everything DZDesk holds about her")
    filed = t.call(
        "POST",
        "/v1/privacy/requests",
        carol["access_token"],
        expect=202,
        json={"type": "export", "subject_id": carol["user"]["id"]},
    ).json()
    t.eventually(
        lambda: (
            t.call("GET", f"/v1/privacy/requests/{filed['id']}", carol["access_token"]).json()[
                "status"
            ]
            == "ready"
        ),
        "the export being ready",
    )
    bundle = t.call(
        "GET", f"/v1/privacy/requests/{filed['id']}/export", carol["access_token"]
    ).content
    manifest = verify_bundle(bundle)
    files = zipfile.ZipFile(io.BytesIO(bundle))
    t.holds(description in files.read("ticketing.json").decode(), "her ticket is in her export")
    t.shows(
        f"a {len(bundle)}-byte zip, every file's SHA-256 as its manifest says "
        f"({manifest['subject_id']}): {', '.join(sorted(files.namelist()))}"
    )

    t.step("Before erasure: what Bob, the agent, sees of Carol's ticket")
    for line in _agent_view(t.call("GET", f"/v1/tickets/{ticket}", bob["access_token"]).json()):
        t.shows(line)

    t.step("Carol asks to be erased")
    erasure = t.call("DELETE", "/v1/me", carol["access_token"], expect=202).json()

    def completed():
        body = t.call("GET", f"/v1/privacy/requests/{erasure['id']}", alice["access_token"]).json()
        return body if body["status"] == "completed" else None

    done = t.eventually(completed, "the erasure completing in every service")
    t.shows("erased in: " + ", ".join(sorted(p["name"] for p in done["participants"])))

    t.step("After erasure: what Bob sees of the same ticket")
    after = t.call("GET", f"/v1/tickets/{ticket}", bob["access_token"])
    t.holds(
        description not in after.text and carols not in after.text,
        "nothing Carol wrote is readable any more",
    )
    t.holds(public in after.text, "Bob's own words remain")
    for line in _agent_view(after.json()):
        t.shows(line)
    verified = t.call("GET", "/v1/audit/verify", alice["access_token"]).json()
    t.holds(verified["ok"] is True, f"the audit chain still verifies after the erasure: {verified}")
    t.shows("the audit chain still verifies")


def main(gateway=None, provider_url=None, out=None) -> int:
    out = out or sys.stdout
    t = Tour(gateway or sign_in.gateway_url(), provider_url or sign_in.sign_in_url(), out)
    print(f"A tour of DZDesk through the gateway at {t.gateway}", file=out)
    try:
        tour(t)
    except StepFailed as exc:
        print(f"\nFAILED at step {t.steps}: {exc}", file=out, flush=True)
        return 1
    except requests.ConnectionError:
        print(
            f"\nFAILED at step {t.steps}: no gateway answers at {t.gateway};"
            " is `make run` running?",
            file=out,
            flush=True,
        )
        return 1
    print(f"\nThe tour held: {t.steps} steps.", file=out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
