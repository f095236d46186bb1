"""Each service's own secrets: cursor keys, database passwords, secrets given as files."""

import base64
import hashlib
import hmac

import pytest
from psycopg.conninfo import conninfo_to_dict

from services.ticketing.settings import TicketingSettings
from shared import config, local_secrets, migrations
from shared.settings import SettingsError

BASE = {
    "AMQP_URI": "amqp://ticketing@localhost/",
    "DATABASE_URL": "postgresql://ticketing_app@localhost/dzdesk_ticketing",
    "SYSTEM_DATABASE_URL": "postgresql://ticketing_system@localhost/dzdesk_ticketing",
}

BLOBS = {"TICKETING_BLOB_CONNECTION_STRING": "DefaultEndpointsProtocol=https;AccountName=a"}


def test_production_requires_the_services_own_cursor_key():
    with pytest.raises(SettingsError) as refused:
        TicketingSettings.load({**BASE, "DZDESK_ENV": "production"})
    # and its blob storage account (development: the local Azurite)
    assert refused.value.missing == ["CURSOR_KEY", "TICKETING_BLOB_CONNECTION_STRING"]

    TicketingSettings.load(BASE)  # development: a key of the process alone
    TicketingSettings.load({**BASE, "DZDESK_ENV": "production", "CURSOR_KEY": "k", **BLOBS})
    assert TicketingSettings.keys()["CURSOR_KEY"] is False
    assert TicketingSettings.keys(production=True)["CURSOR_KEY"] is True


def test_a_missing_cursor_key_is_named_with_every_other_missing_key():
    with pytest.raises(SettingsError) as refused:
        TicketingSettings.load({"DZDESK_ENV": "production"})
    assert refused.value.missing == [
        "AMQP_URI",
        "CURSOR_KEY",
        "DATABASE_URL",
        "SYSTEM_DATABASE_URL",
        "TICKETING_BLOB_CONNECTION_STRING",
    ]


def test_the_database_password_joins_both_urls_of_the_service_only(tmp_path):
    secret = tmp_path / "db-ticketing"
    secret.write_text("s3cret\n")
    env = {
        "TICKETING_DATABASE_URL": "postgresql://ticketing_app@db:5432/dzdesk_ticketing",
        "TICKETING_SYSTEM_DATABASE_URL": "postgresql://ticketing_system@db:5432/dzdesk_ticketing",
        "DATABASE_PASSWORD_FILE": str(secret),
        "TICKETING_DATABASE_PASSWORD": "the migration job's, never a service's",
    }
    values = config.nameko_config("ticketing", env)

    for key, role in (
        ("DATABASE_URL", "ticketing_app"),
        ("SYSTEM_DATABASE_URL", "ticketing_system"),
    ):
        params = conninfo_to_dict(values[key])
        assert (params["user"], params["password"], params["host"]) == (role, "s3cret", "db")
    assert not any("DATABASE_PASSWORD" in key for key in values)


def test_a_url_with_its_own_password_keeps_it():
    env = {
        "AI_DATABASE_URL": "postgresql://ai_app:mine@db/dzdesk_ai",
        "DATABASE_PASSWORD": "other",
    }
    assert conninfo_to_dict(config.database_url("ai", "app", env))["password"] == "mine"


def test_a_secret_setting_may_come_from_a_file(tmp_path):
    secret = tmp_path / "cursor"
    secret.write_text("from-a-file\n")
    values = config.nameko_config("ai", {"CURSOR_KEY_FILE": str(secret)})
    assert values["CURSOR_KEY"] == "from-a-file"
    values = config.nameko_config("ai", {"CURSOR_KEY_FILE": str(secret), "CURSOR_KEY": "set"})
    assert values["CURSOR_KEY"] == "set"


def test_the_roles_get_a_scram_verifier_never_the_password():
    verifier = migrations.scram_verifier("pw", salt=b"0123456789abcdef", iterations=4096)
    method, rest = verifier.split("$", 1)
    iterations_salt, keys = rest.split("$")
    stored, server = (base64.b64decode(part) for part in keys.split(":"))
    salted = hashlib.pbkdf2_hmac("sha256", b"pw", b"0123456789abcdef", 4096)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()

    assert method == "SCRAM-SHA-256" and iterations_salt.startswith("4096:")
    assert stored == hashlib.sha256(client_key).digest()
    assert server == hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    assert "pw" not in verifier


def test_the_local_run_gives_each_service_its_own_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    shell = {"DZDESK_MASTER_KEY": "from-the-shell", "PATH": "/bin"}
    envs = {
        service: local_secrets.service_environment(service, shell) for service in config.SERVICES
    }

    assert {s for s, env in envs.items() if "DZDESK_MASTER_KEY" in env} == {"privacy"}
    assert envs["privacy"]["DZDESK_MASTER_KEY"] == "from-the-shell"
    assert {s for s, env in envs.items() if "IDENTITY_SECRET_KEY" in env} == {"identity"}
    assert {s for s, env in envs.items() if "AUDIT_SECRET_KEY" in env} == {"audit"}
    assert {s for s, env in envs.items() if "INTEGRATIONS_SECRET_KEY" in env} == {"integrations"}
    assert len({env["CURSOR_KEY"] for env in envs.values()}) == len(config.SERVICES)
    assert len({env["DATABASE_PASSWORD"] for env in envs.values()}) == len(config.SERVICES)
    # a new machine's are independent of its master key, and kept
    assert envs["identity"]["IDENTITY_SECRET_KEY"] != local_secrets.master_key()
    again = local_secrets.service_environment("identity", {})
    assert again["IDENTITY_SECRET_KEY"] == envs["identity"]["IDENTITY_SECRET_KEY"]


def test_a_machine_with_a_master_key_keeps_its_local_databases_opening(tmp_path, monkeypatch):
    # identity's and audit's stored keys were sealed under keys derived from the master key
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    master = local_secrets.master_key()

    secrets = local_secrets.service_secrets()

    assert secrets["IDENTITY_SECRET_KEY"] == master
    assert secrets["AUDIT_SECRET_KEY"] == master
    assert secrets["TICKETING_CURSOR_KEY"] != master
