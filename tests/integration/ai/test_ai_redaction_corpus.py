"""A fixed corpus of descriptions against the exact request the fake Azure endpoint receives."""

import json
import uuid
from pathlib import Path

import pytest
import requests

from tests.support.fake_azure import FakeAzureOpenAI

CORPUS = json.loads((Path(__file__).parents[2] / "data" / "redaction_corpus.json").read_text())


@pytest.fixture
def azure():
    with FakeAzureOpenAI() as fake:
        yield fake


def test_every_corpus_sample_reaches_azure_exactly_as_redacted_or_stays_local(
    start_ai, azure, directory
):
    rig = start_ai(
        AZURE_OPENAI_ENDPOINT=azure.endpoint,
        AZURE_OPENAI_API_KEY=azure.api_key,
        AZURE_OPENAI_DEPLOYMENT=azure.deployment,
        AZURE_OPENAI_RETRIES=0,
    )
    tenant, requester = str(uuid.uuid4()), str(uuid.uuid4())
    directory[tenant] = [
        {"id": str(uuid.uuid4()), "name": name, "email": email, "roles": ["requester"]}
        for name, email in CORPUS["people"]
    ]
    tickets = [str(uuid.uuid4()) for _ in CORPUS["samples"]]
    for ticket, sample in zip(tickets, CORPUS["samples"]):
        rig.ticketing.open(tenant, ticket, requester, CORPUS["title"], sample["text"])
    rig.wait_for_events()

    mismatches = []
    for ticket, sample in zip(tickets, CORPUS["samples"]):
        before = len(azure.requests)
        response = requests.post(
            f"{rig.base}/tickets/{ticket}/summary", headers=rig.headers(tenant), timeout=20
        )
        assert response.status_code == 200, response.text
        sent = [
            " ".join(m["content"] for m in r.body["messages"] if m["role"] == "user")
            for r in azure.requests[before:]
        ]
        expected = (
            []
            if sample["sent"] is None
            else [f"Title: {CORPUS['title']}\n\nDescription: {sample['sent']}"]
        )
        if sent != expected:
            mismatches.append((sample["text"], sent, expected))
    assert len(CORPUS["samples"]) >= 60
    assert not mismatches, mismatches
