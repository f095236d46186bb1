"""What the manifests give each service: its environment in compose and in a Kubernetes overlay.

`compose_environment` and `kubernetes_environment` read a service's variables as the manifest
writes them, and fill in what only a real deployment has: each secret (a compose secret file,
a Kubernetes `secretKeyRef`) from `secrets`, a callable of the secret's name. `pointed_local`
then points the hosts at the local servers. Nothing else is added: a key the manifest misses
stays missing.
"""

import functools
import pathlib
import re
import shutil
import subprocess

import yaml
from psycopg.conninfo import conninfo_to_dict, make_conninfo

REPO = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
OVERLAYS = ("overlays/dev", "overlays/prod")
_INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?]([^}]*))?\}")
SECRETS_DIR = "/run/secrets/"


def settings_class(service):
    """The service's typed settings (whose `keys()` say what it requires)."""
    from services.ai.settings import AiSettings
    from services.audit.settings import AuditSettings
    from services.identity.settings import IdentitySettings
    from services.integrations.settings import IntegrationsSettings
    from services.notifications.settings import NotificationsSettings
    from services.privacy.settings import PrivacySettings
    from services.ticketing.settings import TicketingSettings

    return {
        "integrations": IntegrationsSettings,
        "identity": IdentitySettings,
        "ticketing": TicketingSettings,
        "privacy": PrivacySettings,
        "audit": AuditSettings,
        "ai": AiSettings,
        "notifications": NotificationsSettings,
    }[service]


def load_compose(path=DEPLOY / "compose.yaml"):
    with open(path, encoding="utf-8") as source:
        return yaml.safe_load(source)


def deployed_services():
    """The suite's services that compose deploys (a new service may run locally first)."""
    from shared.config import SERVICES

    return tuple(service for service in SERVICES if service in load_compose()["services"])


def _interpolate(value, shell):
    # compose's ${VAR}, ${VAR:-default}, ${VAR:?error}, from a shell that sets nothing else
    def one(match):
        name, default = match.group(1), match.group(2)
        if name in shell:
            return shell[name]
        return default if "-" in match.group(0) and default is not None else ""

    return _INTERPOLATION.sub(one, str(value))


def compose_environment(document, service, secrets, secrets_dir, shell=None):
    """The service's environment in compose: its `environment` (a key without a value passes
    on only what the shell sets, here nothing), each of its secrets as a file in `secrets_dir`
    where compose mounts /run/secrets/<name>."""
    spec = document["services"][service]
    granted = set(spec.get("secrets", []))
    env = {}
    for key, value in (spec.get("environment") or {}).items():
        if value is None:
            continue
        value = _interpolate(value, shell or {})
        if value.startswith(SECRETS_DIR):
            name = value.removeprefix(SECRETS_DIR)
            if name not in granted:
                continue  # compose mounts only the secrets the service lists
            path = pathlib.Path(secrets_dir) / name
            path.write_text(secrets(name))
            value = str(path)
        env[key] = value
    return env


def _kustomize_command():
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def kustomize_available():
    return _kustomize_command() is not None


@functools.cache
def _rendered_text(directory):
    result = subprocess.run(
        [*_kustomize_command(), str(directory)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def render(directory):
    return [doc for doc in yaml.safe_load_all(_rendered_text(str(directory))) if doc]


def kubernetes_environment(documents, service, secrets):
    """The service container's environment in rendered Kubernetes resources: its ConfigMaps
    (envFrom), literal values and `secretKeyRef`s; an optional reference that `secrets`
    answers None for is left out, as Kubernetes does for an absent key."""
    config_maps = {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == "ConfigMap"}
    (deployment,) = [
        doc
        for doc in documents
        if doc["kind"] == "Deployment" and doc["metadata"]["name"] == service
    ]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {}
    for source in container.get("envFrom", []):
        env.update(config_maps[source["configMapRef"]["name"]].get("data", {}))
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
            continue
        reference = item["valueFrom"]["secretKeyRef"]
        value = secrets(reference["key"])
        if value is None:
            assert reference.get("optional"), f"no local value for secret {reference['key']}"
            continue
        env[item["name"]] = value
    return env


def local_database_url(url, database_url):
    """`url` (the manifest's, or filled from a secret) pointed at the local server and the
    test's database, keeping its user and password."""
    ours = conninfo_to_dict(database_url)
    theirs = conninfo_to_dict(url)
    keep = {key: theirs[key] for key in ("user", "password") if key in theirs}
    return make_conninfo(
        **{key: ours[key] for key in ("host", "port") if key in ours},
        dbname=ours["dbname"],
        **keep,
    )


def pointed_local(service, env, database, amqp_uri, port):
    """The manifest's environment with its hosts pointed at the local servers: the database
    URLs at the test's database, the broker at the test's vhost, the port at a free one."""
    env = dict(env)
    prefix = service.upper()
    for key, role in (
        (f"{prefix}_DATABASE_URL", "app"),
        (f"{prefix}_SYSTEM_DATABASE_URL", "system"),
    ):
        if key in env:
            env[key] = local_database_url(env[key], database[role])
    if "AMQP_URI" in env:
        env["AMQP_URI"] = amqp_uri
    env["PORT"] = str(port)
    env["HOST"] = "127.0.0.1"
    return env


def required_keys(service, config):
    """The keys the service's settings require of this (nameko) config."""
    from shared.environment import is_production

    keys = settings_class(service).keys(production=is_production(config))
    return sorted(key for key, required in keys.items() if required)


def missing_keys(service, config):
    return [key for key in required_keys(service, config) if not str(config.get(key) or "")]
