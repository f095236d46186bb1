"""Per-service broker users: what each may touch, and how a service finds its login."""

import re

import pytest

from shared import broker, config


def allowed(service, kind, resource):
    return re.fullmatch(broker.permissions(service)[kind], resource) is not None


@pytest.mark.parametrize("resource", ["ticketing.events", "ticketing.internal", "nameko-rpc"])
def test_a_service_may_write_its_own_exchanges_and_the_rpc_exchange(resource):
    assert allowed("ticketing", "write", resource)


@pytest.mark.parametrize(
    "resource", ["ai.events", "audit.internal", "amq.default", "amq.topic", "privacy.events"]
)
def test_a_service_may_not_write_another_services_exchange_nor_the_default_one(resource):
    assert not allowed("ticketing", "write", resource)


@pytest.mark.parametrize("resource", ["ai.events", "privacy.events", "identity.events"])
def test_a_service_may_declare_no_other_services_exchange(resource):
    assert not allowed("ticketing", "configure", resource)
    assert allowed("ticketing", "read", resource)  # but bind its own queues to it


@pytest.mark.parametrize(
    "queue, own",
    [
        ("evt-ticketing-all--ai.handle_ticketing_event", True),
        ("evt-ticketing-all--ai.handle_ticketing_event.dlq", True),
        ("rpc-ai", True),
        ("rpc.reply-ai-5f4e7e3e", True),
        ("evt-ticketing-status_changed--ticketing.handle_ticketing_status_changed", False),
        ("rpc-privacy", False),
        ("rpc.reply-identity-5f4e7e3e", False),
        ("audit.ingest", False),
    ],
)
def test_a_service_reads_and_configures_only_its_own_queues(queue, own):
    assert allowed("ai", "read", queue) is own
    assert allowed("ai", "configure", queue) is own


def test_the_set_up_declares_every_services_exchanges_and_grants_every_user():
    document = broker.definitions("v1", {name: f"pw-{name}" for name in config.SERVICES})
    assert {user["name"] for user in document["users"]} == set(config.SERVICES)
    assert all(user["tags"] == "" for user in document["users"])  # no impersonator
    assert {p["user"] for p in document["permissions"]} == set(config.SERVICES)
    assert {(e["name"], e["type"]) for e in document["exchanges"]} == {
        *((f"{name}.events", "topic") for name in config.SERVICES),
        *((f"{name}.internal", "direct") for name in config.SERVICES),
    }


def test_a_service_logs_in_as_itself_with_the_password_it_is_given(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cr/t\n")
    env = {
        "AMQP_URI": "amqp://guest:guest@rabbit-1:5672/prod;amqp://rabbit-2:5672/prod",
        "AMQP_PASSWORD_FILE": str(secret),
    }
    uri = config.amqp_uri("ticketing", env)
    assert (
        uri
        == "amqp://ticketing:s3cr%2Ft@rabbit-1:5672/prod;amqp://ticketing:s3cr%2Ft@rabbit-2:5672/prod"
    )
    assert broker.user_of(uri) == "ticketing"


def test_a_whole_uri_per_service_wins_and_is_copied_into_no_process_config():
    env = {
        "AMQP_URI": "amqp://localhost/",
        "AMQP_PASSWORD": "p",
        "TICKETING_AMQP_URI": "amqp://ticketing:x@elsewhere/",
        "AI_AMQP_URI": "amqp://ai:y@h/",
    }
    assert config.amqp_uri("ticketing", env) == "amqp://ticketing:x@elsewhere/"
    settings = config.nameko_config("ticketing", env)
    assert settings["AMQP_URI"] == "amqp://ticketing:x@elsewhere/"
    assert "AI_AMQP_URI" not in settings and "TICKETING_AMQP_URI" not in settings


def test_without_a_password_the_uri_keeps_its_own_login():
    assert (
        config.amqp_uri("audit", {"AMQP_URI": "amqp://guest:guest@h/"}) == "amqp://guest:guest@h/"
    )


@pytest.mark.parametrize(
    "sender, event_type, genuine",
    [
        ("ticketing", "ticketing.ticket_opened", True),
        ("ai", "ticketing.ticket_opened", False),
        ("anonymous", "ticketing.ticket_opened", False),
        ("ticketing", "ticketingx.ticket_opened", False),
    ],
)
def test_an_event_is_genuine_only_from_the_service_its_name_says(sender, event_type, genuine):
    assert broker.owns_event(sender, event_type) is genuine
