"""Every Kubernetes manifest validates against the API schema and keeps the deployment promises."""

from __future__ import annotations

import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml
from deploy_test_support import K8S, SERVICE_PORTS, SERVICES, load_yaml_documents

KUBERNETES_VERSION = "1.30"
LAYERS = ["base", "overlays/dev", "overlays/prod"]


def _kustomize_command():
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def build(layer: str) -> list[dict]:
    command = _kustomize_command()
    if command is None:
        pytest.skip("neither kustomize nor kubectl is installed")
    result = subprocess.run(
        [*command, str(K8S / layer)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def kustomization(layer: str) -> dict:
    return load_yaml_documents(K8S / layer / "kustomization.yaml")[0]


def resource_files() -> list:
    """Plain manifest files of every layer (what validates even without kustomize)."""
    files = []
    for layer in LAYERS:
        for entry in kustomization(layer).get("resources", []):
            path = (K8S / layer / entry).resolve()
            if path.is_file():
                files.append(path)
    return files


def by_kind(documents, kind):
    return {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == kind}


def container(deployment):
    return deployment["spec"]["template"]["spec"]["containers"][0]


@pytest.fixture(scope="module", params=LAYERS)
def rendered(request):
    return build(request.param)


@pytest.mark.parametrize("layer", LAYERS)
def test_every_path_a_kustomization_names_exists(layer):
    spec = kustomization(layer)
    named = list(spec.get("resources", []))
    for generator in spec.get("configMapGenerator", []):
        named += [entry.split("=", 1)[-1] for entry in generator.get("files", [])]

    missing = [entry for entry in named if not (K8S / layer / entry).exists()]

    assert not missing


@pytest.mark.parametrize("path", resource_files(), ids=lambda path: str(path.relative_to(K8S)))
def test_each_manifest_file_validates_strictly(path):
    for document in load_yaml_documents(path):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_a_misspelt_field_fails_strict_validation():
    deployment = load_yaml_documents(K8S / "base" / "identity.yaml")[0]
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"

    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_every_rendered_resource_validates_strictly(rendered):
    for document in rendered:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_each_service_has_a_deployment_service_autoscaler_and_migration_job(rendered):
    assert set(SERVICES) <= set(by_kind(rendered, "Deployment"))
    assert set(SERVICES) <= set(by_kind(rendered, "Service"))
    assert set(by_kind(rendered, "HorizontalPodAutoscaler")) == set(SERVICES)
    assert set(by_kind(rendered, "Job")) == {f"{name}-migrate" for name in SERVICES} | {
        "broker-setup"
    }


def test_services_probe_liveness_and_readiness_on_their_own_port(rendered):
    deployments = by_kind(rendered, "Deployment")
    for name in SERVICES:
        spec = container(deployments[name])
        assert spec["ports"][0]["containerPort"] == SERVICE_PORTS[name]
        assert spec["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert spec["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert spec["args"] == [name]


def test_the_grace_period_outlasts_the_pre_stop_pause_and_the_services_stop_deadline(rendered):
    from shared.launch import DEFAULT_STOP_SECONDS
    from shared.stopping import KILL_SECONDS

    deployments = by_kind(rendered, "Deployment")
    for name in SERVICES:
        pod = deployments[name]["spec"]["template"]["spec"]
        spec = container(deployments[name])
        env = {item["name"]: item.get("value") for item in spec["env"]}
        stop = float(env.get("STOP_TIMEOUT_SECONDS") or DEFAULT_STOP_SECONDS)
        command = spec["lifecycle"]["preStop"]["exec"]["command"]
        assert command[0] == "sleep"
        assert pod["terminationGracePeriodSeconds"] > float(command[1]) + stop + KILL_SECONDS


def test_every_pod_runs_as_non_root_without_privilege_escalation(rendered):
    workloads = list(by_kind(rendered, "Deployment").values()) + list(
        by_kind(rendered, "Job").values()
    )
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        for spec in pod["containers"]:
            assert spec["securityContext"]["allowPrivilegeEscalation"] is False
            assert spec["securityContext"]["capabilities"]["drop"] == ["ALL"]
            assert spec["resources"]["requests"] and spec["resources"]["limits"]


def test_secrets_are_only_referenced_never_inlined(rendered):
    assert not by_kind(rendered, "Secret")
    for name in SERVICES:
        env = {
            item["name"]: item for item in container(by_kind(rendered, "Deployment")[name])["env"]
        }
        for variable in (
            "AMQP_URI",
            f"{name.upper()}_DATABASE_URL",
            f"{name.upper()}_SYSTEM_DATABASE_URL",
        ):
            assert env[variable]["valueFrom"]["secretKeyRef"]["name"] == "dzdesk-secrets"


def test_each_service_logs_in_to_the_broker_as_its_own_user(rendered):
    for name in SERVICES:
        env = {
            item["name"]: item for item in container(by_kind(rendered, "Deployment")[name])["env"]
        }
        assert env["AMQP_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": "dzdesk-secrets",
            "key": f"{name}-amqp-password",
        }


def test_the_broker_setup_job_creates_every_service_user_from_the_secrets(rendered):
    job = by_kind(rendered, "Job")["broker-setup"]
    spec = container(job)
    assert spec["command"] == ["dzdesk-broker-setup"]
    env = {item["name"]: item["valueFrom"]["secretKeyRef"] for item in spec["env"]}
    assert env == {
        "DZDESK_BROKER_API": {"name": "dzdesk-secrets", "key": "broker-admin-api"},
        **{
            f"{name.upper()}_AMQP_PASSWORD": {
                "name": "dzdesk-secrets",
                "key": f"{name}-amqp-password",
            }
            for name in SERVICES
        },
    }


def test_only_privacy_receives_the_master_key(rendered):
    holders = {
        name
        for name, deployment in by_kind(rendered, "Deployment").items()
        if any(item["name"] == "DZDESK_MASTER_KEY" for item in container(deployment).get("env", []))
    }

    assert holders == {"privacy"}


def test_service_settings_come_from_the_shared_config_map(rendered):
    config_maps = by_kind(rendered, "ConfigMap")
    for name in SERVICES:
        (reference,) = container(by_kind(rendered, "Deployment")[name])["envFrom"]
        assert reference["configMapRef"]["name"] in config_maps


def test_autoscalers_own_the_service_replica_counts(rendered):
    deployments = by_kind(rendered, "Deployment")
    for name, autoscaler in by_kind(rendered, "HorizontalPodAutoscaler").items():
        assert autoscaler["spec"]["scaleTargetRef"]["name"] == name
        assert "replicas" not in deployments[name]["spec"]
        assert autoscaler["spec"]["minReplicas"] <= autoscaler["spec"]["maxReplicas"]


def migration_jobs(rendered):
    return {
        name: job
        for name, job in by_kind(rendered, "Job").items()
        if job["metadata"]["labels"]["app.kubernetes.io/component"] == "migration"
    }


def test_migration_jobs_run_the_migration_tool_with_the_admin_url(rendered):
    assert set(migration_jobs(rendered)) == {f"{name}-migrate" for name in SERVICES}
    for name, job in migration_jobs(rendered).items():
        spec = job["spec"]["template"]["spec"]["containers"][0]
        assert spec["command"] == ["dzdesk-migrate"]
        assert spec["args"] == [name.removesuffix("-migrate")]
        assert [item["name"] for item in spec["env"]] == ["DZDESK_ADMIN_DATABASE_URL"]


def test_the_gateway_mounts_the_rendered_nginx_config(rendered):
    gateway = by_kind(rendered, "Deployment")["gateway"]
    volumes = {volume["name"]: volume for volume in gateway["spec"]["template"]["spec"]["volumes"]}
    config_map = by_kind(rendered, "ConfigMap")[volumes["config"]["configMap"]["name"]]

    assert "location ~ ^/v1/(tickets|sla)(/|$)" in config_map["data"]["nginx.conf"]
    assert "/etc/dzdesk/nginx.conf" in container(gateway)["command"]


def test_the_ingress_sends_everything_to_the_gateway(rendered):
    (ingress,) = by_kind(rendered, "Ingress").values()
    backends = [
        path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]

    assert backends == ["gateway"]
    assert ingress["spec"]["tls"]


def test_overlays_set_their_own_namespace_and_image():
    dev, prod = build("overlays/dev"), build("overlays/prod")

    assert {doc["metadata"].get("namespace") for doc in dev if doc["kind"] != "Namespace"} == {
        "dzdesk-dev"
    }
    assert {doc["metadata"].get("namespace") for doc in prod if doc["kind"] != "Namespace"} == {
        "dzdesk"
    }
    assert (
        container(by_kind(prod, "Deployment")["ticketing"])["image"]
        == "registry.example.com/dzdesk:0.1.0"
    )


def test_production_keeps_more_replicas_than_development():
    dev_minimum = {
        name: hpa["spec"]["minReplicas"]
        for name, hpa in by_kind(build("overlays/dev"), "HorizontalPodAutoscaler").items()
    }
    prod = build("overlays/prod")
    prod_minimum = {
        name: hpa["spec"]["minReplicas"]
        for name, hpa in by_kind(prod, "HorizontalPodAutoscaler").items()
    }

    assert all(prod_minimum[name] > dev_minimum[name] for name in SERVICES)
    assert set(by_kind(prod, "PodDisruptionBudget")) == {*SERVICES, "gateway"}


def test_production_runs_with_dzdesk_env_production_and_development_does_not():
    def settings(layer):
        config = by_kind(build(layer), "ConfigMap")
        return next(doc["data"] for name, doc in config.items() if name.startswith("dzdesk-config"))

    assert settings("overlays/prod")["DZDESK_ENV"] == "production"
    assert "DZDESK_ENV" not in settings("overlays/dev")
