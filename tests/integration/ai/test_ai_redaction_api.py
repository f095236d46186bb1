import uuid

import pytest
import requests

from shared.envelope import Envelope
from tests.support import amqp
from tests.support.fake_azure import FakeAzureOpenAI


@pytest.fixture
def azure():
    with FakeAzureOpenAI() as fake:
        yield fake


def _azure_config(fake):
    return {
        "AZURE_OPENAI_ENDPOINT": fake.endpoint,
        "AZURE_OPENAI_API_KEY": fake.api_key,
        "AZURE_OPENAI_DEPLOYMENT": fake.deployment,
        "AZURE_OPENAI_RETRIES": 0,
    }


def _outgoing_text(fake):
    (request,) = fake.requests
    return " ".join(message["content"] for message in request.body["messages"])


def test_the_summary_request_to_azure_carries_no_personal_data_and_the_answer_restores_it(
    start_ai, azure, directory
):
    rig = start_ai(**_azure_config(azure))
    tenant, ticket, requester, agent = (str(uuid.uuid4()) for _ in range(4))
    directory[tenant] = [
        {
            "id": requester,
            "name": "Margarethe Vollmerhausen",
            "email": "mvh@corp-example.org",
            "roles": ["requester"],
        },
        {
            "id": agent,
            "name": "Teodor Brankovic",
            "email": "teo@corp-example.org",
            "roles": ["agent"],
        },
    ]
    rig.ticketing.open(
        tenant,
        ticket,
        requester,
        "Outlook not syncing",
        "Hello, this is Margarethe Vollmerhausen. Outlook stopped syncing on my laptop"
        " at 192.168.14.77. Call me on +33 6 12 34 56 78 or write to"
        " margarethe.private@gmail.com.",
    )
    rig.ticketing.comment(
        tenant, ticket, agent, "Hi Margarethe, Teodor here: I rebuilt your profile."
    )
    rig.wait_for_events()

    response = requests.post(
        f"{rig.base}/tickets/{ticket}/summary", headers=rig.headers(tenant), timeout=20
    )

    sent = _outgoing_text(azure)
    for personal in (
        "Margarethe",
        "Vollmerhausen",
        "Teodor",
        "192.168.14.77",
        "12 34 56 78",
        "margarethe.private@gmail.com",
        "mvh@corp-example.org",
    ):
        assert personal not in sent
    assert "[PERSON_1]" in sent and "[IP_1]" in sent and "[PHONE_1]" in sent and "[EMAIL_1]" in sent
    assert azure.requests[0].headers["api-key"] == azure.api_key
    body = response.json()
    assert response.status_code == 200 and body["provider"] == "azure_openai"
    assert "Margarethe Vollmerhausen" in body["summary"] and "192.168.14.77" in body["summary"]
    assert "[PERSON_1]" not in body["summary"]


def test_a_name_known_only_from_an_identity_event_is_redacted_before_azure(start_ai, azure):
    rig = start_ai(identity=False, **_azure_config(azure))
    tenant, ticket, requester = (str(uuid.uuid4()) for _ in range(3))
    pii = rig.ticketing.cipher.seal(tenant, {"name": (requester, "Wilhelmina Okonkwo-Strand")})
    # what identity emits when the requester joins: their name sealed, ids and roles in clear
    profile = Envelope.new(
        "identity.user_joined",
        tenant,
        f"tenant-{tenant}",
        {"user_id": requester, "roles": ["requester"], "provider": "google"},
        actor={"system": "identity"},
        pii=pii,
    ).with_version(1)
    amqp.publish(rig.cfg["AMQP_URI"], [profile.to_dict()])
    rig.ticketing.open(
        tenant,
        ticket,
        requester,
        "Badge lost",
        "Wilhelmina Okonkwo-Strand lost her badge on the train.",
    )
    rig.wait_for_events()
    rig.wait_until(
        lambda: rig.raw("SELECT count(*) FROM ai_people")[0][0] == 1, what="the name to be kept"
    )

    response = requests.post(
        f"{rig.base}/tickets/{ticket}/summary", headers=rig.headers(tenant), timeout=20
    )

    assert response.status_code == 200
    assert "Wilhelmina" not in _outgoing_text(azure) and "Okonkwo" not in _outgoing_text(azure)
    assert "Wilhelmina Okonkwo-Strand" in response.json()["summary"]
    assert "Wilhelmina" not in str(rig.raw("SELECT * FROM ai_people"))


def test_when_azure_keeps_failing_the_summary_falls_back_to_the_local_provider(start_ai, azure):
    rig = start_ai(**_azure_config(azure))
    tenant, ticket = str(uuid.uuid4()), str(uuid.uuid4())
    rig.ticketing.open(
        tenant,
        ticket,
        str(uuid.uuid4()),
        "Printer offline on the 2nd floor",
        "The printer on the 2nd floor shows offline and jobs stay in the queue.",
    )
    rig.wait_for_events()
    azure.fail_next(503)

    response = requests.post(
        f"{rig.base}/tickets/{ticket}/summary", headers=rig.headers(tenant), timeout=20
    )

    assert response.status_code == 200 and len(azure.requests) == 1
    assert "printer" in response.json()["summary"].lower()
    assert not response.json()["summary"].startswith("Summary:")
