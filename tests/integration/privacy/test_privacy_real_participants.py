"""The sagas against the real participants (identity, ticketing, ai, audit, notifications), not
the doubles: what an erasure and an export do in each service. The doubles of the other modules
drive the saga's own mechanics (outages, restarts, retries), which the real services cannot
stage."""

import io
import json
import uuid
import zipfile

import psycopg
import pytest
import requests

from services.ai.service import AiService
from services.audit.service import AuditService
from services.identity.service import IdentityService
from services.notifications.service import NotificationsService
from services.privacy.service import PrivacyService
from services.privacy.settings import DEFAULT_PARTICIPANTS
from services.ticketing.service import TicketingService
from shared.crypto import ERASED
from tests.support.waiting import wait_until

REAL = set(DEFAULT_PARTICIPANTS)
CLASSES = {
    "identity": IdentityService,
    "ticketing": TicketingService,
    "ai": AiService,
    "audit": AuditService,
    "notifications": NotificationsService,
}


class Services:
    def __init__(self, bases, provider, urls):
        self.bases, self.provider, self.urls = bases, provider, urls

    def call(self, service, method, path, token, **kwargs):
        return requests.request(
            method,
            self.bases[service] + path,
            timeout=15,
            headers={"Authorization": f"Bearer {token}"},
            **kwargs,
        )

    def sign_in(self, email, name, hd):
        token = self.provider.mint_google(uuid.uuid4().hex, email, hd=hd, name=name)
        response = requests.post(
            self.bases["identity"] + "/v1/auth/google", timeout=15, json={"id_token": token}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def wait_for(self, service, token, request_id, done):
        def finished():
            body = self.call(service, "GET", f"/v1/privacy/requests/{request_id}", token).json()
            return body if body["status"] in done else None

        return wait_until(finished, what=f"the request to be {done}")


@pytest.fixture
def real(service_config, container_factory, provider):
    """Privacy with its default participants, each the real service, on one vhost."""
    privacy_cfg, privacy_urls = service_config("privacy", PRIVACY_SAGA_POLL_SECONDS=0.2)
    assert "PRIVACY_PARTICIPANTS" not in privacy_cfg
    configs, urls = {"privacy": privacy_cfg}, {"privacy": privacy_urls}
    for name in CLASSES:
        configs[name], urls[name] = service_config(name, AMQP_URI=privacy_cfg["AMQP_URI"])
    identity = f"http://{configs['identity']['WEB_SERVER_ADDRESS']}"
    configs["identity"].update(
        {
            "GOOGLE_CLIENT_IDS": provider.google_client_id,
            "GOOGLE_CERTS_URL": provider.google_certs_url,
        }
    )
    for cfg in configs.values():
        cfg["IDENTITY_JWKS_URL"] = identity + "/v1/auth/jwks"  # identity's own tokens only
    container_factory(PrivacyService, privacy_cfg).start()
    for name, cls in CLASSES.items():
        container_factory(cls, configs[name]).start()
    bases = {name: f"http://{cfg['WEB_SERVER_ADDRESS']}" for name, cfg in configs.items()}
    return Services(bases, provider, urls)


def _subject_with_a_ticket(real, marker):
    hd = f"{marker}.example.test"
    admin = real.sign_in(f"admin@{hd}", "Admin Person", hd)
    subject = real.sign_in(f"nora.{marker}@{hd}", f"Nora {marker}", hd)
    other = real.sign_in(f"olga.{marker}@{hd}", f"Olga {marker}", hd)
    tickets = {}
    for who, text in (
        ("subject", f"Nora's dock {marker} is dead"),
        ("other", f"Olga's mouse {marker} squeaks"),
    ):
        person = subject if who == "subject" else other
        created = real.call(
            "ticketing",
            "POST",
            "/v1/tickets",
            person["access_token"],
            json={"type": "incident", "title": "Broken", "description": text},
        )
        assert created.status_code == 201, created.text
        tickets[who] = (created.json()["id"], text)
    wait_until(
        lambda: _count(real, "ai", "SELECT count(*) FROM ai_tickets") >= 2,
        what="ai to learn both tickets",
    )
    wait_until(
        lambda: _count(real, "notifications", "SELECT count(*) FROM notify_members") >= 3,
        what="notifications to know the three members",
    )
    return admin, subject, other, tickets


def _count(real, service, query):
    with psycopg.connect(real.urls[service]["admin"]) as conn:
        return conn.execute(query).fetchone()[0]


def test_an_erasure_purges_the_subject_in_every_real_participant_and_only_them(real):
    marker = uuid.uuid4().hex[:8]
    admin, subject, other, tickets = _subject_with_a_ticket(real, marker)
    filed = real.call(
        "privacy",
        "POST",
        "/v1/privacy/requests",
        admin["access_token"],
        json={"type": "erasure", "subject_id": subject["user"]["id"]},
    )
    assert filed.status_code == 202, filed.text
    view = real.wait_for("privacy", admin["access_token"], filed.json()["id"], ("completed",))

    receipts = {p["name"]: p for p in view["participants"]}
    assert set(receipts) == REAL
    assert {p["step"] for p in receipts.values()} == {"done"}
    assert {p["receipt"]["service"] for p in receipts.values()} == REAL
    staff = admin["access_token"]
    erased = real.call("ticketing", "GET", f"/v1/tickets/{tickets['subject'][0]}", staff).json()
    kept = real.call("ticketing", "GET", f"/v1/tickets/{tickets['other'][0]}", staff).json()
    assert (erased["description"], kept["description"]) == (ERASED, tickets["other"][1])
    members = real.call("identity", "GET", "/v1/tenant/members", staff).json()["items"]
    names = {member["id"]: member.get("name") for member in members}
    assert names.get(subject["user"]["id"]) != f"Nora {marker}"
    assert names[other["user"]["id"]] == f"Olga {marker}"
    members = "SELECT user_id FROM notify_members ORDER BY user_id"
    with psycopg.connect(real.urls["notifications"]["admin"]) as conn:
        kept_members = {row[0] for row in conn.execute(members)}
    assert subject["user"]["id"] not in kept_members and other["user"]["id"] in kept_members

    # ai keeps the subject's sealed text and name no longer, and the other person's still
    def in_ai(table, column, person):
        who = person["user"]["id"]
        return _count(real, "ai", f"SELECT count(*) FROM {table} WHERE {column} = '{who}'")

    assert (
        in_ai("ai_tickets", "requester_id", subject),
        in_ai("ai_people", "subject_id", subject),
    ) == (0, 0)
    assert (
        in_ai("ai_tickets", "requester_id", other) == 1
        and in_ai("ai_people", "subject_id", other) > 0
    )


def test_an_export_gathers_the_subjects_data_from_every_real_participant(real):
    marker = uuid.uuid4().hex[:8]
    _, subject, other, tickets = _subject_with_a_ticket(real, marker)
    token = subject["access_token"]
    filed = real.call(
        "privacy",
        "POST",
        "/v1/privacy/requests",
        token,
        json={"type": "export", "subject_id": subject["user"]["id"]},
    )
    assert filed.status_code == 202, filed.text
    view = real.wait_for("privacy", token, filed.json()["id"], ("ready",))

    assert {p["name"] for p in view["participants"]} == REAL
    download = real.call(
        "privacy", "GET", f"/v1/privacy/requests/{filed.json()['id']}/export", token
    )
    assert download.status_code == 200
    files = zipfile.ZipFile(io.BytesIO(download.content))
    parts = {name: files.read(name).decode() for name in files.namelist()}
    assert {f"{service}.json" for service in REAL} <= set(parts)
    assert subject["user"]["email"] in parts["identity.json"]
    assert tickets["subject"][1] in parts["ticketing.json"]
    assert tickets["subject"][1] in parts["ai.json"]
    assert json.loads(parts["notifications.json"])["email"] == subject["user"]["email"]
    everything = json.dumps(parts)
    assert tickets["other"][1] not in everything and other["user"]["email"] not in everything
