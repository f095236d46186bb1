"""The compose file and the Dockerfile describe the suite as deploy/README.md says."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from urllib.parse import urlsplit

import jsonschema
import pytest
from deploy_test_support import DEPLOY, REPO, SERVICE_PORTS, SERVICES, load_yaml_documents

# A compact subset of the Compose Specification: what this file relies on, strictly.
COMPOSE_SCHEMA = {
    "type": "object",
    "required": ["services"],
    "properties": {
        "name": {"type": "string"},
        "services": {"type": "object", "additionalProperties": {"$ref": "#/$defs/service"}},
        "volumes": {"type": "object"},
        "secrets": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["environment"],
                "properties": {"environment": {"type": "string"}},
                "additionalProperties": False,
            },
        },
    },
    "patternProperties": {"^x-": {}},
    "additionalProperties": False,
    "$defs": {
        "service": {
            "type": "object",
            "anyOf": [{"required": ["image"]}, {"required": ["build"]}],
            "properties": {
                "image": {"type": "string"},
                "build": {
                    "type": "object",
                    "required": ["context", "dockerfile"],
                    "properties": {"context": {"type": "string"}, "dockerfile": {"type": "string"}},
                    "additionalProperties": False,
                },
                "command": {"type": "array", "items": {"type": "string"}},
                "entrypoint": {"type": "array", "items": {"type": "string"}},
                "environment": {
                    "type": "object",
                    "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
                },
                "ports": {
                    "type": "array",
                    "items": {"type": "string", "pattern": r"^[^:]+(:[^:]+)*$"},
                },
                "expose": {"type": "array", "items": {"type": "string", "pattern": r"^\d+$"}},
                "healthcheck": {
                    "type": "object",
                    "required": ["test"],
                    "properties": {
                        "test": {"type": "array", "minItems": 2, "items": {"type": "string"}},
                        "interval": {"type": "string"},
                        "timeout": {"type": "string"},
                        "retries": {"type": "integer", "minimum": 1},
                        "start_period": {"type": "string"},
                    },
                    "additionalProperties": False,
                },
                "depends_on": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "required": ["condition"],
                        "properties": {
                            "condition": {
                                "enum": [
                                    "service_started",
                                    "service_healthy",
                                    "service_completed_successfully",
                                ]
                            }
                        },
                        "additionalProperties": False,
                    },
                },
                "restart": {"enum": ["no", "always", "on-failure", "unless-stopped"]},
                "hostname": {"type": "string"},
                "user": {"type": "string"},
                "read_only": {"type": "boolean"},
                "stop_grace_period": {"type": "string", "pattern": r"^\d+s$"},
                "tmpfs": {"type": "array", "items": {"type": "string"}},
                "security_opt": {"type": "array", "items": {"type": "string"}},
                "volumes": {"type": "array", "items": {"type": "string"}},
                "secrets": {"type": "array", "items": {"type": "string"}},
            },
            "additionalProperties": False,
        }
    },
}


@pytest.fixture(scope="module")
def compose():
    (document,) = load_yaml_documents(DEPLOY / "compose.yaml")
    return document


@pytest.fixture(scope="module")
def dockerfile():
    return (DEPLOY / "Dockerfile").read_text()


def test_the_compose_file_matches_the_compact_schema(compose):
    jsonschema.validate(compose, COMPOSE_SCHEMA)


def test_the_compact_schema_rejects_a_service_without_image_or_build():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"services": {"orphan": {"command": ["true"]}}}, COMPOSE_SCHEMA)


def test_compose_runs_broker_database_migration_services_and_gateway(compose):
    assert set(compose["services"]) == {
        "rabbitmq",
        "postgres",
        "broker-setup",
        "migrate",
        "gateway",
        "azurite",
        *SERVICES,
    }
    assert compose["services"]["rabbitmq"]["image"].endswith("-management")
    # ticketing's attachments: the emulator of Azure Blob Storage, pinned as package.json pins it
    assert compose["services"]["azurite"]["image"].endswith(":3.35.0")
    assert compose["services"]["postgres"]["image"].startswith("postgres:15")


def test_every_long_running_container_has_a_healthcheck(compose):
    one_shots = {"migrate", "broker-setup"}
    unchecked = [
        name
        for name, spec in compose["services"].items()
        if name not in one_shots and "healthcheck" not in spec
    ]

    assert not unchecked


def test_each_service_checks_readiness_on_its_own_port(compose):
    for name in SERVICES:
        probe = " ".join(compose["services"][name]["healthcheck"]["test"])
        assert f"127.0.0.1:{SERVICE_PORTS[name]}/health/ready" in probe
        assert compose["services"][name]["command"] == [name]


def test_services_wait_for_the_broker_and_finished_migrations(compose):
    for name in SERVICES:
        assert compose["services"][name]["depends_on"] == {
            "rabbitmq": {"condition": "service_healthy"},
            "broker-setup": {"condition": "service_completed_successfully"},
            "migrate": {"condition": "service_completed_successfully"},
        }
    assert compose["services"]["broker-setup"]["depends_on"] == {
        "rabbitmq": {"condition": "service_healthy"}
    }
    assert compose["services"]["migrate"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"}
    }


def test_each_service_gets_ten_seconds_to_stop_which_outlasts_its_own_stop_deadline(compose):
    from shared.launch import DEFAULT_STOP_SECONDS
    from shared.stopping import KILL_SECONDS

    for name in SERVICES:
        grace = compose["services"][name]["stop_grace_period"]
        assert grace == "10s"
        assert DEFAULT_STOP_SECONDS + KILL_SECONDS < float(grace.removesuffix("s"))


def test_the_gateway_waits_for_healthy_services_and_is_the_only_published_api(compose):
    gateway = compose["services"]["gateway"]

    assert gateway["depends_on"] == {name: {"condition": "service_healthy"} for name in SERVICES}
    assert gateway["ports"] == ["${DZDESK_GATEWAY_PORT:-8080}:8080"]
    assert all("ports" not in compose["services"][name] for name in SERVICES)


def test_the_gateway_mounts_the_committed_container_config(compose):
    config, *reference = compose["services"]["gateway"]["volumes"]
    source, target, _ = config.split(":")

    assert (DEPLOY / source).is_file()
    assert f"-c {target}" in " ".join(compose["services"]["gateway"]["command"])
    # the API reference, where the container profile's static_dir says nginx finds it
    assert [mount.split(":")[1] for mount in reference] == [
        "/etc/dzdesk/openapi.json",
        "/etc/dzdesk/docs.html",
    ]
    assert all((DEPLOY / mount.split(":")[0]).is_file() for mount in reference)


def test_each_service_connects_with_its_own_app_and_system_roles(compose):
    for name in SERVICES:
        env = compose["services"][name]["environment"]
        assert env[f"{name.upper()}_DATABASE_URL"].startswith(f"postgresql://{name}_app@")
        assert env[f"{name.upper()}_SYSTEM_DATABASE_URL"].startswith(f"postgresql://{name}_system@")
        assert env["QUEUE_TYPE"] == "quorum"


OWN_SECRETS = {
    "identity": {"IDENTITY_SECRET_KEY": "identity-secret-key"},
    "ticketing": {},
    "privacy": {"DZDESK_MASTER_KEY": "master-key"},
    "audit": {"AUDIT_SECRET_KEY": "audit-secret-key"},
    "ai": {},
    "integrations": {"INTEGRATIONS_SECRET_KEY": "integrations-secret-key"},
    "notifications": {"SMTP_PASSWORD": "notifications-smtp-password"},
}


def test_each_service_logs_in_to_the_broker_as_its_own_user_from_its_secret(compose):
    for name in SERVICES:
        spec = compose["services"][name]
        assert "@" not in spec["environment"]["AMQP_URI"]  # no shared credentials
        assert f"amqp-{name}" in spec["secrets"]
        assert spec["environment"]["AMQP_PASSWORD_FILE"] == f"/run/secrets/amqp-{name}"
    assert {compose["secrets"][f"amqp-{name}"]["environment"] for name in SERVICES} == {
        f"{name.upper()}_AMQP_PASSWORD" for name in SERVICES
    }


def test_each_service_gets_its_own_secrets_and_no_other(compose):
    for name in SERVICES:
        spec = compose["services"][name]
        own = {
            "AMQP_PASSWORD": f"amqp-{name}",
            "DATABASE_PASSWORD": f"db-{name}",
            "CURSOR_KEY": f"cursor-{name}",
            **OWN_SECRETS[name],
        }
        assert sorted(spec["secrets"]) == sorted(own.values())
        for variable, secret in own.items():
            assert spec["environment"][f"{variable}_FILE"] == f"/run/secrets/{secret}"
        for role in ("", "SYSTEM_"):
            url = spec["environment"][f"{name.upper()}_{role}DATABASE_URL"]
            assert urlsplit(url).password is None  # the password comes from its secret only
    variables = {secret["environment"] for secret in compose["secrets"].values()}
    assert len(variables) == len(compose["secrets"])  # no secret shared between two names


def test_the_database_checks_passwords_and_migrate_sets_each_services(compose):
    postgres = compose["services"]["postgres"]["environment"]
    assert "POSTGRES_HOST_AUTH_METHOD" not in postgres
    migrate = compose["services"]["migrate"]
    assert sorted(migrate["secrets"]) == sorted(f"db-{name}" for name in SERVICES)
    for name in SERVICES:
        assert (
            migrate["environment"][f"{name.upper()}_DATABASE_PASSWORD_FILE"]
            == f"/run/secrets/db-{name}"
        )


def test_the_broker_set_up_creates_every_service_user_from_the_same_secrets(compose):
    setup = compose["services"]["broker-setup"]
    assert setup["entrypoint"] == ["dzdesk-broker-setup"]
    assert sorted(setup["secrets"]) == sorted(f"amqp-{name}" for name in SERVICES)
    for name in SERVICES:
        assert (
            setup["environment"][f"{name.upper()}_AMQP_PASSWORD_FILE"]
            == f"/run/secrets/amqp-{name}"
        )
    assert setup["environment"]["DZDESK_BROKER_API"].startswith("http://dzdesk:")


@pytest.mark.parametrize(
    "secret, holder",
    [
        ("master-key", "privacy"),
        ("identity-secret-key", "identity"),
        ("audit-secret-key", "audit"),
        ("integrations-secret-key", "integrations"),
        ("notifications-smtp-password", "notifications"),
    ],
)
def test_each_key_of_one_service_reaches_that_service_only(compose, secret, holder):
    holders = {
        name for name, spec in compose["services"].items() if secret in spec.get("secrets", [])
    }
    given = {
        name
        for name, spec in compose["services"].items()
        if any(variable.startswith("DZDESK_MASTER_KEY") for variable in spec.get("environment", {}))
    }

    assert holders == {holder}
    assert given == {"privacy"}


def test_the_image_is_built_in_stages_on_python_3_11(dockerfile):
    stages = re.findall(r"^FROM (\S+) AS (\w+)$", dockerfile, re.M)

    assert [name for _, name in stages] == ["builder", "runtime"]
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", dockerfile, re.M)


def test_the_image_runs_as_a_numeric_non_root_user(dockerfile):
    user = re.findall(r"^USER (\S+)$", dockerfile, re.M)[-1]

    assert user.split(":")[0].isdigit() and user.split(":")[0] != "0"


def test_the_runtime_stage_copies_only_the_virtualenv_and_entrypoint(dockerfile):
    runtime = dockerfile.split("AS runtime", 1)[1]

    assert re.findall(r"^COPY .*$", runtime, re.M) == [
        "COPY --from=builder /opt/venv /opt/venv",
        "COPY deploy/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh",
    ]


def test_every_path_the_dockerfile_copies_exists_and_is_not_ignored(dockerfile):
    allowed = [
        line[1:].rstrip("/")
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    for source in re.findall(r"^COPY (?!--from)(\S+(?: \S+)*) \S+$", dockerfile, re.M):
        for path in source.split():
            assert (REPO / path).exists(), path
            assert any(path == entry or path.startswith(entry + "/") for entry in allowed), path


def test_the_entrypoint_hands_its_arguments_to_the_service_launcher():
    script = (DEPLOY / "docker-entrypoint.sh").read_text()

    assert script.startswith("#!/bin/sh")
    assert 'exec dzdesk-service "$@"' in script


@pytest.mark.skipif(shutil.which("sh") is None, reason="no POSIX shell")
def test_the_entrypoint_without_a_service_name_says_how_to_give_one():
    env = {key: value for key, value in os.environ.items() if key != "SERVICE"}

    result = subprocess.run(
        ["sh", str(DEPLOY / "docker-entrypoint.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=10,
    )

    assert result.returncode != 0
    assert "set SERVICE" in result.stderr
