"""Every Kubernetes manifest validates against the API schema and keeps the deployment promises."""

from __future__ import annotations

import kubernetes_validate
import pytest
from deploy_test_support import (
    K8S,
    LAYERS,
    NGINX,
    OVERLAYS,
    SERVICE_PORTS,
    SERVICES,
    build,
    by_kind,
    container,
    load_yaml_documents,
)

KUBERNETES_VERSION = "1.30"
# Not in the Kubernetes API schemas kubernetes-validate ships (a CRD): checked on its own below.
GATEWAY_API = "gateway.networking.k8s.io/v1"
KUSTOMIZATIONS = sorted([*K8S.rglob("kustomization.yaml"), NGINX / "kustomization.yaml"])


def kustomization(path) -> dict:
    return load_yaml_documents(path)[0]


def manifest_files() -> list:
    """Plain manifest files under deploy/k8s (what validates even without kustomize)."""
    return sorted(path for path in K8S.rglob("*.yaml") if path.name != "kustomization.yaml")


def validate(document):
    if document["apiVersion"] == GATEWAY_API:
        return
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def service_deployments(rendered):
    return {name: by_kind(rendered, "Deployment")[name] for name in SERVICES}


@pytest.fixture(scope="module", params=LAYERS)
def rendered(request):
    return build(request.param)


@pytest.mark.parametrize("path", KUSTOMIZATIONS, ids=lambda path: str(path.relative_to(K8S.parent)))
def test_every_path_a_kustomization_names_exists(path):
    spec = kustomization(path)
    named = [*spec.get("resources", []), *spec.get("components", [])]
    for generator in spec.get("configMapGenerator", []):
        named += [entry.split("=", 1)[-1] for entry in generator.get("files", [])]

    missing = [entry for entry in named if not (path.parent / entry).exists()]

    assert not missing


@pytest.mark.parametrize("path", manifest_files(), ids=lambda path: str(path.relative_to(K8S)))
def test_each_manifest_file_validates_strictly(path):
    for document in load_yaml_documents(path):
        validate(document)


def test_a_misspelt_field_fails_strict_validation():
    deployment = load_yaml_documents(K8S / "base" / "service" / "deployment.yaml")[0]
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"

    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_every_rendered_resource_validates_strictly(rendered):
    for document in rendered:
        validate(document)


# a service's own non-secret settings, read by it alone (after the shared ones, so they win)
OWN_CONFIG_MAPS = {"notifications": ["notifications-config"]}


def test_the_services_come_from_one_template_and_differ_in_a_few_lines():
    base = kustomization(K8S / "base" / "kustomization.yaml")
    assert [entry for entry in base["resources"] if entry.startswith("services/")] == [
        f"services/{name}" for name in SERVICES
    ]
    for name in SERVICES:
        spec = kustomization(K8S / "base" / "services" / name / "kustomization.yaml")
        assert spec["components"] == ["../../service"]
        values, *own = spec["configMapGenerator"]
        # besides its values, only its own settings' ConfigMap (notifications' SMTP relay)
        assert [generator["name"] for generator in own] == OWN_CONFIG_MAPS.get(name, [])
        assert values["literals"] == [
            f"name={name}",
            f"prefix={name.upper()}",
            f"port={SERVICE_PORTS[name]}",
        ]
        assert "resources" not in spec
        # the only other lines: the secrets it alone gets, and dropping the spent values
        text = (K8S / "base" / "services" / name / "kustomization.yaml").read_text()
        assert len(text.splitlines()) < 45
    assert {path.name for path in (K8S / "base").glob("*.yaml")} == {
        "kustomization.yaml",
        "broker-setup.yaml",
        "migration-reader.yaml",
        "network-policies.yaml",
    }


def leaves(node, path=()):
    """(path, value) of every scalar in a document, keys excluded."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, (*path, key))
    elif isinstance(node, list):
        for value in node:
            yield from leaves(value, path)
    else:
        yield path, node


def test_no_placeholder_of_the_template_is_left_in_a_rendering(rendered):
    for document in rendered:
        for path, value in leaves(document):
            if path[-1:] == ("app.kubernetes.io/component",):
                continue
            assert value not in ("service", 8000, "8000"), path
            if isinstance(value, str):
                assert not value.startswith(("service-", "SERVICE_")), path
                assert "service-values" not in value and "dzdesk-release" not in value, path


def test_each_service_has_a_deployment_service_autoscaler_and_migration_job(rendered):
    assert set(SERVICES) <= set(by_kind(rendered, "Deployment"))
    assert set(SERVICES) <= set(by_kind(rendered, "Service"))
    assert set(by_kind(rendered, "HorizontalPodAutoscaler")) == set(SERVICES)
    jobs = {job["metadata"]["labels"]["app.kubernetes.io/name"] for job in jobs_of(rendered)}
    assert jobs == {f"{name}-migrate" for name in SERVICES} | {"broker-setup"}


def test_services_probe_liveness_and_readiness_on_their_own_port(rendered):
    for name, deployment in service_deployments(rendered).items():
        spec = container(deployment)
        assert spec["ports"][0]["containerPort"] == SERVICE_PORTS[name]
        assert spec["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert spec["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert spec["args"] == [name]
        env = {item["name"]: item.get("value") for item in spec["env"]}
        assert env["PORT"] == str(SERVICE_PORTS[name])
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == str(SERVICE_PORTS[name])
        (port,) = by_kind(rendered, "Service")[name]["spec"]["ports"]
        assert port["port"] == SERVICE_PORTS[name]


def test_the_grace_period_outlasts_the_pre_stop_pause_and_the_services_stop_deadline(rendered):
    from shared.launch import DEFAULT_STOP_SECONDS
    from shared.stopping import KILL_SECONDS

    for deployment in service_deployments(rendered).values():
        pod = deployment["spec"]["template"]["spec"]
        spec = container(deployment)
        env = {item["name"]: item.get("value") for item in spec["env"]}
        stop = float(env.get("STOP_TIMEOUT_SECONDS") or DEFAULT_STOP_SECONDS)
        command = spec["lifecycle"]["preStop"]["exec"]["command"]
        assert command[0] == "sleep"
        # a 10 s stop: the graceful part and the kill fit in it
        assert stop + KILL_SECONDS <= 10
        assert pod["terminationGracePeriodSeconds"] > float(command[1]) + 10


def test_the_gateway_stops_within_its_grace_period(rendered):
    gateway = by_kind(rendered, "Deployment")["gateway"]
    pause = float(container(gateway)["lifecycle"]["preStop"]["exec"]["command"][1])

    assert gateway["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= pause + 10


def workloads(rendered):
    return list(by_kind(rendered, "Deployment").values()) + jobs_of(rendered)


def test_every_pod_runs_as_non_root_without_privilege_escalation(rendered):
    for workload in workloads(rendered):
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        for spec in [*pod.get("initContainers", []), *pod["containers"]]:
            assert spec["securityContext"]["allowPrivilegeEscalation"] is False
            assert spec["securityContext"]["capabilities"]["drop"] == ["ALL"]
            assert spec["resources"]["requests"] and spec["resources"]["limits"]


def test_cpu_is_requested_and_never_limited(rendered):
    for workload in workloads(rendered):
        pod = workload["spec"]["template"]["spec"]
        for spec in [*pod.get("initContainers", []), *pod["containers"]]:
            assert "cpu" in spec["resources"]["requests"], workload["metadata"]["name"]
            assert "cpu" not in spec["resources"]["limits"], workload["metadata"]["name"]
            assert "memory" in spec["resources"]["limits"], workload["metadata"]["name"]


def test_secrets_are_only_referenced_never_inlined(rendered):
    assert not by_kind(rendered, "Secret")
    for name, deployment in service_deployments(rendered).items():
        env = {item["name"]: item for item in container(deployment)["env"]}
        for variable, key in (
            ("AMQP_URI", "amqp-uri"),
            (f"{name.upper()}_DATABASE_URL", f"{name}-database-url"),
            (f"{name.upper()}_SYSTEM_DATABASE_URL", f"{name}-system-database-url"),
        ):
            assert env[variable]["valueFrom"]["secretKeyRef"] == {
                "name": "dzdesk-secrets",
                "key": key,
            }


OWN_SECRETS = {
    "identity": {
        "IDENTITY_SECRET_KEY": "identity-secret-key",
        "MICROSOFT_CLIENT_SECRET": "microsoft-client-secret",
    },
    "ticketing": {"TICKETING_BLOB_CONNECTION_STRING": "ticketing-blob-connection-string"},
    "privacy": {"DZDESK_MASTER_KEY": "master-key", "DZDESK_MASTER_KEYS": "master-keys"},
    "audit": {"AUDIT_SECRET_KEY": "audit-secret-key"},
    "ai": {"AZURE_OPENAI_API_KEY": "azure-openai-api-key"},
    "integrations": {"INTEGRATIONS_SECRET_KEY": "integrations-secret-key"},
    "notifications": {"SMTP_PASSWORD": "notifications-smtp-password"},
}


def test_each_service_gets_only_the_secrets_it_alone_needs(rendered):
    for name, deployment in service_deployments(rendered).items():
        env = {item["name"]: item for item in container(deployment)["env"]}
        common = {
            "PORT",
            "AMQP_URI",
            "AMQP_PASSWORD",
            "DATABASE_PASSWORD",
            "CURSOR_KEY",
            f"{name.upper()}_DATABASE_URL",
            f"{name.upper()}_SYSTEM_DATABASE_URL",
        }
        assert set(env) == common | set(OWN_SECRETS[name])
        for variable, key in OWN_SECRETS[name].items():
            assert env[variable]["valueFrom"]["secretKeyRef"]["key"] == key


def test_each_service_has_its_own_database_password_and_cursor_key(rendered):
    for name, deployment in service_deployments(rendered).items():
        env = {item["name"]: item for item in container(deployment)["env"]}
        for variable, key in (
            ("DATABASE_PASSWORD", f"{name}-database-password"),
            ("CURSOR_KEY", f"{name}-cursor-key"),
        ):
            assert env[variable]["valueFrom"]["secretKeyRef"] == {
                "name": "dzdesk-secrets",
                "key": key,
            }


def test_each_service_logs_in_to_the_broker_as_its_own_user(rendered):
    for name, deployment in service_deployments(rendered).items():
        env = {item["name"]: item for item in container(deployment)["env"]}
        assert env["AMQP_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": "dzdesk-secrets",
            "key": f"{name}-amqp-password",
        }


def jobs_of(rendered):
    return list(by_kind(rendered, "Job").values())


def job(rendered, label):
    (found,) = [
        job
        for job in jobs_of(rendered)
        if job["metadata"]["labels"]["app.kubernetes.io/name"] == label
    ]
    return found


def test_the_broker_setup_job_creates_every_service_user_from_the_secrets(rendered):
    spec = container(job(rendered, "broker-setup"))
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


@pytest.mark.parametrize(
    "variable, holder",
    [
        ("DZDESK_MASTER_KEY", "privacy"),
        ("DZDESK_MASTER_KEYS", "privacy"),
        ("IDENTITY_SECRET_KEY", "identity"),
        ("AUDIT_SECRET_KEY", "audit"),
        ("INTEGRATIONS_SECRET_KEY", "integrations"),
        ("SMTP_PASSWORD", "notifications"),
    ],
)
def test_each_key_of_one_service_reaches_that_service_only(rendered, variable, holder):
    holders = {
        name
        for name, workload in [
            *by_kind(rendered, "Deployment").items(),
            *by_kind(rendered, "Job").items(),
        ]
        if any(item["name"] == variable for item in container(workload).get("env", []))
    }

    assert holders == {holder}


def test_service_settings_come_from_the_shared_config_map(rendered):
    config_maps = by_kind(rendered, "ConfigMap")
    for name, deployment in service_deployments(rendered).items():
        shared, *own = [ref["configMapRef"]["name"] for ref in container(deployment)["envFrom"]]
        assert shared.startswith("dzdesk-config") and shared in config_maps
        assert [ref.rsplit("-", 1)[0] for ref in own] == OWN_CONFIG_MAPS.get(name, [])
        assert all(ref in config_maps for ref in own)


def test_autoscalers_own_the_service_replica_counts(rendered):
    deployments = by_kind(rendered, "Deployment")
    for name, autoscaler in by_kind(rendered, "HorizontalPodAutoscaler").items():
        assert autoscaler["spec"]["scaleTargetRef"]["name"] == name
        assert "replicas" not in deployments[name]["spec"]
        assert autoscaler["spec"]["minReplicas"] <= autoscaler["spec"]["maxReplicas"]


def migration_jobs(rendered):
    return {
        job["metadata"]["labels"]["app.kubernetes.io/name"]: job
        for job in jobs_of(rendered)
        if job["metadata"]["labels"]["app.kubernetes.io/component"] == "migration"
    }


def test_migration_jobs_run_the_migration_tool_with_the_admin_url(rendered):
    assert set(migration_jobs(rendered)) == {f"{name}-migrate" for name in SERVICES}
    for name, found in migration_jobs(rendered).items():
        spec = container(found)
        assert spec["command"] == ["dzdesk-migrate"]
        assert spec["args"] == [name.removesuffix("-migrate")]
        service = name.removesuffix("-migrate")
        env = {item["name"]: item["valueFrom"]["secretKeyRef"] for item in spec["env"]}
        # the admin URL, and the password it gives this service's login roles
        assert env == {
            "DZDESK_ADMIN_DATABASE_URL": {"name": "dzdesk-secrets", "key": "admin-database-url"},
            f"{service.upper()}_DATABASE_PASSWORD": {
                "name": "dzdesk-secrets",
                "key": f"{service}-database-password",
            },
        }
        # a finished migration Job stays: the pods of its release wait for it
        assert "ttlSecondsAfterFinished" not in found["spec"]


def release_of(rendered):
    return container(by_kind(rendered, "Deployment")["ticketing"])["image"].rsplit(":", 1)[1]


@pytest.mark.parametrize("layer", OVERLAYS)
def test_every_job_is_named_after_the_release_so_a_release_needs_no_manual_delete(layer):
    rendered = build(layer)
    release = release_of(rendered)
    for found in jobs_of(rendered):
        label = found["metadata"]["labels"]["app.kubernetes.io/name"]
        assert found["metadata"]["name"] == f"{label}-{release}"
        assert found["metadata"]["labels"]["app.kubernetes.io/version"] == release
        assert container(found)["image"].endswith(f":{release}")
    for deployment in service_deployments(rendered).values():
        assert container(deployment)["image"].endswith(f":{release}")


def test_a_new_release_renames_every_job():
    text = (K8S / "overlays" / "prod" / "kustomization.yaml").read_text()
    assert "release=0.1.0" in text
    names = {found["metadata"]["name"] for found in jobs_of(build("overlays/prod"))}

    assert all(name.endswith("-0.1.0") for name in names)
    assert len(names) == len(SERVICES) + 1


def test_each_service_waits_for_its_own_migration_job_of_its_release(rendered):
    migrations = migration_jobs(rendered)
    for name, deployment in service_deployments(rendered).items():
        (wait,) = deployment["spec"]["template"]["spec"]["initContainers"]
        assert wait["args"][:3] == ["wait", "--for=condition=complete", "--timeout=600s"]
        assert wait["args"][3:] == ["job", migrations[f"{name}-migrate"]["metadata"]["name"]]


def test_only_the_wait_container_holds_a_token_that_may_only_read_jobs(rendered):
    for deployment in service_deployments(rendered).values():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False
        assert pod["serviceAccountName"] == "dzdesk-migration-reader"
        token_volumes = {
            volume["name"]
            for volume in pod["volumes"]
            if any(
                "serviceAccountToken" in source
                for source in volume.get("projected", {}).get("sources", [])
            )
        }
        (wait,) = pod["initContainers"]
        assert token_volumes <= {mount["name"] for mount in wait["volumeMounts"]}
        for spec in pod["containers"]:
            assert not token_volumes & {mount["name"] for mount in spec.get("volumeMounts", [])}
    (role,) = by_kind(rendered, "Role").values()
    assert role["rules"] == [
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch"]}
    ]
    (binding,) = by_kind(rendered, "RoleBinding").values()
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert [subject["name"] for subject in binding["subjects"]] == ["dzdesk-migration-reader"]


def test_the_gateway_mounts_the_rendered_nginx_config(rendered):
    gateway = by_kind(rendered, "Deployment")["gateway"]
    volumes = {volume["name"]: volume for volume in gateway["spec"]["template"]["spec"]["volumes"]}
    config_map = by_kind(rendered, "ConfigMap")[volumes["config"]["configMap"]["name"]]

    assert (
        "location ~ ^/v1/(me/queue|tickets|ticket-fields|sla|reports|approval-policies|groups"
        "|routing-rules)(/|$)" in config_map["data"]["nginx.conf"]
    )
    assert config_map["data"]["nginx.conf"] == (NGINX / "container.nginx.conf").read_text()
    assert "/etc/dzdesk/nginx.conf" in container(gateway)["command"]


def entry_points(rendered):
    return by_kind(rendered, "Ingress") | by_kind(rendered, "HTTPRoute")


def test_the_base_leaves_the_entry_point_to_the_overlay():
    assert not entry_points(build("base"))


@pytest.mark.parametrize(
    "layer,kind", [("overlays/dev", "Ingress"), ("overlays/prod", "HTTPRoute")]
)
def test_the_entry_point_sends_everything_to_the_gateway(layer, kind):
    rendered = build(layer)
    (entry,) = entry_points(rendered).values()
    assert entry["kind"] == kind
    if kind == "Ingress":
        backends = [
            path["backend"]["service"]["name"]
            for rule in entry["spec"]["rules"]
            for path in rule["http"]["paths"]
        ]
        assert entry["spec"]["tls"]
        # portable: no controller-specific annotation is needed
        assert not entry["metadata"].get("annotations")
    else:
        (rule,) = entry["spec"]["rules"]
        assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
        backends = [ref["name"] for ref in rule["backendRefs"]]
        assert [ref["port"] for ref in rule["backendRefs"]] == [8080]
        assert rule["timeouts"]["request"] == "300s"
    assert backends == ["gateway"]


HTTPROUTE_FIELDS = {"parentRefs", "hostnames", "rules"}
HTTPROUTE_RULE_FIELDS = {"name", "matches", "filters", "backendRefs", "timeouts"}


def test_the_http_route_has_only_gateway_api_v1_fields():
    (route,) = load_yaml_documents(K8S / "components" / "gateway-api" / "httproute.yaml")
    assert route["apiVersion"] == GATEWAY_API and route["kind"] == "HTTPRoute"
    assert set(route["spec"]) <= HTTPROUTE_FIELDS
    for parent in route["spec"]["parentRefs"]:
        assert set(parent) <= {"group", "kind", "namespace", "name", "sectionName", "port"}
        assert parent["kind"] == "Gateway" and parent["name"]
    for rule in route["spec"]["rules"]:
        assert set(rule) <= HTTPROUTE_RULE_FIELDS
        assert set(rule["timeouts"]) <= {"request", "backendRequest"}
        for ref in rule["backendRefs"]:
            assert set(ref) <= {"group", "kind", "name", "namespace", "port", "weight"}


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
