import json
import uuid

import pytest

from services.ai.settings import AiSettings
from services.ai.text.providers import (
    AzureOpenAIProvider,
    LocalProvider,
    provider_from_settings,
)
from services.ai.text.summary import Thread
from tests.support.fake_azure import FakeAzureOpenAI

BASE = {"AMQP_URI": "amqp://x", "DATABASE_URL": "postgresql://a", "SYSTEM_DATABASE_URL": "p://s"}


@pytest.fixture
def fake_azure():
    with FakeAzureOpenAI() as fake:
        yield fake


def _thread():
    suffix = uuid.uuid4().hex[:6]
    name, email = f"Marisol Okafor{suffix}", f"marisol.{suffix}@acme.example"
    stranger = f"tom.{suffix}@partner.example"
    return Thread(
        title=f"VPN down for {name}",
        description=(
            f"Hello, this is {name}. The VPN drops every few minutes on my laptop at "
            f"10.20.30.{len(suffix)} "
            f"and fe80::1ff:fe23:4567:890a. Call me on +33 6 12 34 56 78 or mail {email}."
        ),
        comments=(f"Hi {name.split()[0]}, we are looking into it; {stranger} reported it too.",),
        tenant_id=str(uuid.uuid4()),
        people=((name, email),),
    ), [
        name,
        name.split()[0],
        email,
        stranger,
        f"10.20.30.{len(suffix)}",
        "fe80::1ff:fe23:4567:890a",
        "+33 6 12 34 56 78",
    ]


def _provider(fake, **options):
    options = {
        "retries": 2,
        "timeout": 2.0,
        "backoff": 0.01,
        "fallback": LocalProvider(),
        **options,
    }
    return AzureOpenAIProvider(fake.endpoint, fake.api_key, fake.deployment, **options)


def test_the_outgoing_request_carries_no_personal_data_of_the_thread(fake_azure):
    thread, personal = _thread()

    _provider(fake_azure).summarize(thread)

    (request,) = fake_azure.requests
    sent = request.raw_body.decode()
    for value in personal:
        assert value.lower() not in sent.lower()
        assert json.dumps(value)[1:-1].lower() not in sent.lower()
    content = request.body["messages"][-1]["content"]
    for placeholder in ("[PERSON_1]", "[EMAIL_1]", "[EMAIL_2]", "[PHONE_1]", "[IP_1]", "[IP_2]"):
        assert placeholder in content


def test_the_answer_comes_back_with_the_originals_restored(fake_azure):
    thread, personal = _thread()

    answer = _provider(fake_azure).summarize(thread)

    assert answer.startswith("Summary: ")  # the fake's echo, not the local fallback
    for value in personal:
        assert value in answer
    assert "[PERSON_" not in answer and "[EMAIL_" not in answer


def test_the_request_follows_the_azure_chat_completions_protocol(fake_azure):
    thread, _ = _thread()

    _provider(fake_azure, api_version="2024-06-01").suggest_reply(thread)

    (request,) = fake_azure.requests
    assert request.method == "POST"
    assert request.path == f"/openai/deployments/{fake_azure.deployment}/chat/completions"
    assert request.query["api-version"] == ["2024-06-01"]
    assert request.headers["api-key"] == fake_azure.api_key
    assert [m["role"] for m in request.body["messages"]] == ["system", "user"]


def test_server_errors_are_retried_until_an_answer_arrives(fake_azure):
    thread, _ = _thread()
    fake_azure.fail_next(500, times=2)

    answer = _provider(fake_azure, retries=2).summarize(thread)

    assert len(fake_azure.requests) == 3
    assert answer.startswith("Summary: ")


def test_throttling_is_retried_after_the_requested_delay(fake_azure):
    thread, _ = _thread()
    fake_azure.fail_next(429, times=1, retry_after=0.05)
    waits = []

    answer = _provider(fake_azure, sleep=waits.append).summarize(thread)

    assert answer.startswith("Summary: ")
    assert waits == [0.05]


def test_retries_back_off_exponentially(fake_azure):
    thread, _ = _thread()
    fake_azure.fail_next(503, times=3)
    waits = []

    _provider(fake_azure, retries=3, backoff=0.01, sleep=waits.append).summarize(thread)

    assert waits == [0.01, 0.02, 0.04]


def test_persistent_server_errors_fall_back_to_the_local_provider(fake_azure):
    thread, _ = _thread()
    fake_azure.fail_next(500, times=10)

    answer = _provider(fake_azure, retries=2).summarize(thread)

    assert len(fake_azure.requests) == 3
    assert answer == LocalProvider().summarize(thread)


def test_a_provider_that_stalls_past_the_timeout_falls_back_to_the_local_provider(fake_azure):
    thread, _ = _thread()
    fake_azure.delay_next(2.0, times=2)

    answer = _provider(fake_azure, retries=1, timeout=0.2).suggest_reply(thread)

    assert len(fake_azure.requests) == 2
    assert answer == LocalProvider().suggest_reply(thread)


def test_a_rejected_key_is_not_retried_and_falls_back(fake_azure):
    thread, _ = _thread()
    provider = AzureOpenAIProvider(
        fake_azure.endpoint,
        "wrong-key",
        fake_azure.deployment,
        retries=3,
        backoff=0.01,
        fallback=LocalProvider(),
    )

    answer = provider.summarize(thread)

    assert len(fake_azure.requests) == 1
    assert answer == LocalProvider().summarize(thread)


def test_an_unreachable_endpoint_falls_back_to_the_local_provider():
    thread, _ = _thread()
    with FakeAzureOpenAI() as fake:
        endpoint, key, deployment = fake.endpoint, fake.api_key, fake.deployment
    provider = AzureOpenAIProvider(
        endpoint, key, deployment, retries=1, backoff=0.01, fallback=LocalProvider()
    )

    assert provider.summarize(thread) == LocalProvider().summarize(thread)


def test_azure_is_chosen_only_when_endpoint_key_and_deployment_are_all_set():
    local = LocalProvider()
    env = {
        "AZURE_OPENAI_ENDPOINT": "http://127.0.0.1:9",
        "AZURE_OPENAI_API_KEY": uuid.uuid4().hex,
        "AZURE_OPENAI_DEPLOYMENT": "gpt-test",
    }

    def chosen(values):
        return provider_from_settings(AiSettings.load({**BASE, **values}), local)

    assert isinstance(chosen(env), AzureOpenAIProvider)
    for missing in env:
        assert chosen({k: v for k, v in env.items() if k != missing}) is local
        assert chosen({**env, missing: ""}) is local


@pytest.mark.parametrize(
    "description",
    [
        "Customer number 123456 is wrong.",  # digits redaction cannot place
        "Keiko Tanaka cannot reach the file share.",  # a name no list knows
        "Order 4111 1111 1111 1112 failed in the shop.",  # card-shaped, fails Luhn
    ],
)
def test_text_redaction_cannot_vouch_for_is_answered_locally_and_never_sent(
    fake_azure, description
):
    thread = Thread(title="Help needed", description=description, tenant_id=str(uuid.uuid4()))

    summary = _provider(fake_azure).summarize(thread)

    assert fake_azure.requests == [] and summary
