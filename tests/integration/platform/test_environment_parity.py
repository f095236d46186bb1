"""Environment parity: each service starts with exactly what compose and Kubernetes give it.

For every service and every way of deploying it (deploy/compose.yaml, the Kubernetes dev and
prod overlays), the manifest's environment is read (tests/support/parity.py), its secrets are
filled in with local values and its hosts pointed at the local PostgreSQL and RabbitMQ; the
keys the service's typed settings require must all be there, and `dzdesk-service` started with
that environment alone must answer /health/ready with 200.
"""

import base64
import os
import pathlib
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
import yaml
from nameko.testing.utils import find_free_port

from shared import config, environment
from tests.support import parity

SOURCES = ("compose", *parity.OVERLAYS)
DEPLOYED = parity.deployed_services()
BIN = pathlib.Path(sys.executable).parent


def bare_amqp_uri(uri):
    """The test's vhost on the local broker, with no credentials: the manifest's must log in."""
    parts = urlsplit(uri)
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urlunsplit(("amqp", netloc, parts.path, "", ""))


class LocalSecrets:
    """A local value for every secret a manifest names (compose's secret names, Kubernetes'
    keys of dzdesk-secrets), made once per test as an operator would."""

    def __init__(self, service, database, broker_passwords, amqp_uri):
        from shared.local_secrets import database_passwords

        self.service = service
        self.database = database
        self.broker_passwords = broker_passwords
        self.database_passwords = database_passwords()
        self.amqp_uri = amqp_uri
        self.keys = {}

    def key(self, name):
        return self.keys.setdefault(name, base64.b64encode(os.urandom(32)).decode())

    def __call__(self, name):
        for service in config.SERVICES:
            if name in (f"amqp-{service}", f"{service}-amqp-password"):
                return self.broker_passwords[service]
            if name in (f"db-{service}", f"{service}-database-password"):
                return self.database_passwords[service]
            if name in (f"cursor-{service}", f"{service}-cursor-key"):
                return self.key(name)
        if name == f"{self.service}-database-url":
            return without_password(self.database["app"])
        if name == f"{self.service}-system-database-url":
            return without_password(self.database["system"])
        if name == "amqp-uri":
            return self.amqp_uri
        if name.endswith(("-secret-key", "-smtp-password")) or name == "master-key":
            return self.key(name)
        if name == "ticketing-blob-connection-string":
            from dzdesk_dev import azurite

            return azurite.connection_string()  # the local Azurite (make infra)
        return None  # optional ones an operator may leave out (provider secrets, master-keys)


def without_password(url):
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    params.pop("password", None)
    return make_conninfo(**params)


def manifest_environment(source, service, secrets, tmp_path, compose_document=None):
    if source == "compose":
        document = compose_document or parity.load_compose()
        return parity.compose_environment(document, service, secrets, tmp_path)
    if not parity.kustomize_available():
        pytest.skip("neither kustomize nor kubectl is installed")
    return parity.kubernetes_environment(
        parity.render(parity.DEPLOY / "k8s" / source), service, secrets
    )


def check_parity(service, env, tmp_path, timeout=60):
    """The required keys are there, and the service started with `env` alone gets ready."""
    nameko_config = config.nameko_config(service, env)
    missing = parity.missing_keys(service, nameko_config)
    assert not missing, f"{service} misses {', '.join(missing)} in its manifest"
    log = tmp_path / f"{service}.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [str(BIN / "dzdesk-service"), service],
            env={"PATH": os.environ.get("PATH", ""), "LOG_LEVEL": "WARNING", **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{env['PORT']}/health/ready"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(url, timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            tail = log.read_text(errors="replace")[-2000:]
            assert process.poll() is None, f"{service} exited ({process.returncode}):\n{tail}"
            assert time.monotonic() < deadline, f"{service} not ready in {timeout}s:\n{tail}"
            time.sleep(0.2)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def local(make_database, rabbit_config, broker_passwords):
    """local(service) -> (its local secrets, its database) for one service of the test."""

    def build(service):
        database = make_database(service)
        amqp_uri = bare_amqp_uri(rabbit_config["AMQP_URI"])
        return LocalSecrets(service, database, broker_passwords, amqp_uri), database, amqp_uri

    return build


def started_env(source, service, local, tmp_path, compose_document=None):
    secrets, database, amqp_uri = local(service)
    env = manifest_environment(source, service, secrets, tmp_path, compose_document)
    return parity.pointed_local(service, env, database, amqp_uri, find_free_port())


@pytest.mark.parametrize("service", DEPLOYED)
@pytest.mark.parametrize("source", SOURCES)
def test_each_service_gets_ready_with_what_its_manifest_gives_it(source, service, local, tmp_path):
    env = started_env(source, service, local, tmp_path)

    if source == "overlays/prod":
        assert environment.is_production(env)  # production's required keys are checked too
    check_parity(service, env, tmp_path)


@pytest.mark.parametrize("layer", parity.OVERLAYS)
def test_every_overlay_deploys_the_services_compose_does(layer):
    if not parity.kustomize_available():
        pytest.skip("neither kustomize nor kubectl is installed")
    documents = parity.render(parity.DEPLOY / "k8s" / layer)
    deployments = {d["metadata"]["name"] for d in documents if d["kind"] == "Deployment"}

    assert set(DEPLOYED) == deployments & set(config.SERVICES)


@pytest.mark.parametrize(
    "service, key",
    [("identity", "IDENTITY_SECRET_KEY"), ("integrations", "INTEGRATIONS_SECRET_KEY")],
)
def test_a_manifest_missing_a_required_key_fails_the_parity_check(service, key, local, tmp_path):
    # a scratch copy of compose.yaml without the service's own secret
    document = parity.load_compose()
    del document["services"][service]["environment"][f"{key}_FILE"]
    scratch = tmp_path / "compose.yaml"
    scratch.write_text(yaml.safe_dump(document))
    env = started_env("compose", service, local, tmp_path, parity.load_compose(scratch))

    with pytest.raises(AssertionError, match=f"{service} misses {key}"):
        check_parity(service, env, tmp_path)


def test_the_service_itself_refuses_to_start_without_it(local, tmp_path, monkeypatch):
    # what the key check stands for: the process does not get ready, and says why
    document = parity.load_compose()
    del document["services"]["identity"]["environment"]["IDENTITY_SECRET_KEY_FILE"]
    env = started_env("compose", "identity", local, tmp_path, document)
    monkeypatch.setattr(parity, "missing_keys", lambda service, config: [])

    with pytest.raises(AssertionError, match="identity exited") as refused:
        check_parity("identity", env, tmp_path, timeout=30)
    assert "IDENTITY_SECRET_KEY" in str(refused.value)


@pytest.mark.parametrize("layer", parity.OVERLAYS)
def test_an_overlay_missing_a_required_key_fails_the_parity_check(layer, local, tmp_path):
    if not parity.kustomize_available():
        pytest.skip("neither kustomize nor kubectl is installed")
    documents = parity.render(parity.DEPLOY / "k8s" / layer)
    (audit,) = [
        d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "audit"
    ]
    container = audit["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [item for item in container["env"] if item["name"] != "AUDIT_SECRET_KEY"]
    secrets, database, amqp_uri = local("audit")
    env = parity.pointed_local(
        "audit",
        parity.kubernetes_environment(documents, "audit", secrets),
        database,
        amqp_uri,
        find_free_port(),
    )

    with pytest.raises(AssertionError, match="audit misses AUDIT_SECRET_KEY"):
        check_parity("audit", env, tmp_path)
