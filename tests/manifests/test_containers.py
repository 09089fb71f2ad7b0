"""Every container of every tier: sized, probed, locked down, labelled, pinned."""

from __future__ import annotations

import re
from pathlib import Path

from sutra.gitops import shards
from sutra.gitops.images import DIGEST
from sutra.gitops.quantities import parse_quantity

LONG_RUNNING = ("Deployment", "StatefulSet")
REQUIRED_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/component",
                   "app.kubernetes.io/part-of", "app.kubernetes.io/instance")  # fmt: skip


def _containers(rendered):
    for owner, template in rendered.pod_templates():
        for container in template["spec"]["containers"]:
            yield owner, template, container


def _all_containers(rendered):
    """Init containers too: they pull images and read settings like the others."""
    for owner, template in rendered.pod_templates():
        spec = template["spec"]
        for container in spec.get("initContainers", []) + spec["containers"]:
            yield owner, template, container


def test_pods_are_found(rendered, tier_table: dict) -> None:
    kinds = sorted(owner["kind"] for owner, _ in rendered.pod_templates())
    row = shards.workloads(tier_table, rendered.tier).values()
    jobs = ["CronJob"] * shards.count(tier_table, rendered.tier)  # a snapshot job per shard
    assert kinds == sorted([*jobs, *(entry["kind"] for entry in row)])
    assert kinds.count("Deployment") >= 4


def test_every_container_has_requests_and_limits_with_limit_at_least_request(rendered) -> None:
    for owner, _, container in _containers(rendered):
        resources = container["resources"]
        for key in ("cpu", "memory"):
            request = parse_quantity(resources["requests"][key])
            limit = parse_quantity(resources["limits"][key])
            assert 0 < request <= limit, f"{owner['metadata']['name']} {key}"


def test_long_running_containers_have_liveness_and_readiness_probes(rendered) -> None:
    for owner, _, container in _containers(rendered):
        if owner["kind"] in LONG_RUNNING:
            assert container.get("livenessProbe"), owner["metadata"]["name"]
            assert container.get("readinessProbe"), owner["metadata"]["name"]


def test_http_services_probe_their_own_port(rendered) -> None:
    ports = {"sutra-api": 8000, "sutra-hybrid": 8001, "sutra-control": 9000,
             "sutra-client": 8080}  # fmt: skip
    for name, port in ports.items():
        (container,) = rendered.get("Deployment", name)["spec"]["template"]["spec"]["containers"]
        assert [p["containerPort"] for p in container["ports"]] == [port]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        expected_ready = "/health" if name == "sutra-client" else "/ready"
        assert container["readinessProbe"]["httpGet"]["path"] == expected_ready
        service = rendered.get("Service", name)
        assert [p["port"] for p in service["spec"]["ports"]] == [port]
        assert service["spec"]["selector"] == {"app.kubernetes.io/name": name}


def test_every_pod_and_container_runs_unprivileged(rendered) -> None:
    for owner, template, container in _containers(rendered):
        name = owner["metadata"]["name"]
        pod = template["spec"]["securityContext"]
        assert (pod["runAsNonRoot"], pod["runAsUser"], pod["runAsGroup"], pod["fsGroup"]) == (
            True, 10001, 10001, 10001), name  # fmt: skip
        ctx = container["securityContext"]
        assert ctx["runAsNonRoot"] is True, name
        assert (ctx["runAsUser"], ctx["runAsGroup"]) == (10001, 10001), name
        assert ctx["readOnlyRootFilesystem"] is True, name
        assert ctx["allowPrivilegeEscalation"] is False, name
        assert ctx["capabilities"] == {"drop": ["ALL"]}, name
        assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}, name


def test_read_only_root_filesystems_get_a_writable_tmp(rendered) -> None:
    for owner, template, container in _containers(rendered):
        volumes = {v["name"]: v for v in template["spec"].get("volumes", [])}
        tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
        assert len(tmp) == 1, owner["metadata"]["name"]
        assert "emptyDir" in volumes[tmp[0]["name"]]


def test_pods_and_their_owners_carry_the_standard_labels(rendered, tier_table: dict) -> None:
    for owner, template in rendered.pod_templates():
        for labels in (owner["metadata"]["labels"], template["metadata"]["labels"]):
            missing = [k for k in REQUIRED_LABELS if not labels.get(k)]
            assert not missing, f"{owner['metadata']['name']}: {missing}"
        # Every shard's snapshot job runs pods labelled as shard 0's (one NetworkPolicy).
        name = owner["metadata"]["name"]
        expected = shards.unsharded(tier_table, name) if owner["kind"] == "CronJob" else name
        assert template["metadata"]["labels"]["app.kubernetes.io/name"] == expected


# Workloads that run an upstream image, pinned in the overlays like the project's own.
UPSTREAM_IMAGES = {"sutra-redis": "redis", "nats": "nats"}
# Workloads that run another workload's image.
SHARED_IMAGES = {"storage-snapshot": "storage-server", "storage-replica": "storage-server"}


def test_images_come_from_the_project_registry_pinned_by_tag_and_digest(
    rendered, tier_table: dict
) -> None:
    on_gpus = tier_table["tiers"][rendered.tier].get("gpu", {}).get("workloads", [])
    for owner, _, container in _all_containers(rendered):
        image = container["image"]
        named, _, digest = image.partition("@")
        repository, _, tag = named.rpartition(":")
        # The snapshot job and the read followers run the server's image.
        name = shards.unsharded(tier_table, owner["metadata"]["name"])
        expected = SHARED_IMAGES.get(name, name)
        if expected in on_gpus:
            expected += "-cuda"  # components/hybrid-gpu runs the CUDA build
        assert repository == UPSTREAM_IMAGES.get(expected, f"ghcr.io/sutra-ai/{expected}"), image
        assert DIGEST.match(digest) and tag and tag != "latest", image


def test_no_container_takes_a_secret_through_its_environment(rendered) -> None:
    for owner, _, container in _all_containers(rendered):
        where = f"{owner['metadata']['name']}/{container['name']}"
        for env in container.get("env", []):
            assert "secretKeyRef" not in env.get("valueFrom", {}), f"{where}: {env['name']}"
        assert not any("secretRef" in source for source in container.get("envFrom", [])), where


def test_workloads_use_their_own_service_account_without_a_token(
    rendered, tier_table: dict
) -> None:
    for owner, template in rendered.pod_templates():
        # Every shard's pods run under shard 0's account.
        name = shards.unsharded(tier_table, owner["metadata"]["name"])
        pod = template["spec"]
        assert pod["serviceAccountName"] == name
        assert pod["automountServiceAccountToken"] is False
        account = rendered.get("ServiceAccount", name)
        assert account["automountServiceAccountToken"] is False


def test_services_find_config_through_the_conventional_env(rendered) -> None:
    def env(name: str) -> dict:
        (c,) = rendered.get("Deployment", name)["spec"]["template"]["spec"]["containers"]
        return {e["name"]: e for e in c["env"]}

    for name in ("sutra-api", "sutra-hybrid", "sutra-control"):
        assert env(name)["SUTRA_STORAGE_SERVER"]["value"] == "storage-server:50051"
    assert env("sutra-api")["SUTRA_HYBRID_URL"]["value"] == "http://sutra-hybrid:8001"
    assert env("sutra-api")["SUTRA_VECTOR_DIMENSION"]["value"] == "384"
    assert env("sutra-hybrid")["SUTRA_VECTOR_DIMENSION"]["value"] == "384"


def test_the_admin_token_is_a_file_of_the_mounted_secret(rendered) -> None:
    pod = rendered.get("Deployment", "sutra-control")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert "SUTRA_CONTROL_TOKEN" not in env
    path = Path(env["SUTRA_CONTROL_TOKEN_FILE"]["value"])
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == str(path.parent)]
    assert mount["readOnly"] is True
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["secret"]["secretName"] == "sutra-control-token"
    assert volume["secret"]["optional"] is False  # no Secret, no pod: the intended failure
    assert volume["secret"]["items"] == [{"key": "token", "path": path.name}]
    assert volume["secret"]["defaultMode"] == 0o440  # group = fsGroup: readable by uid 10001
    assert pod["securityContext"]["fsGroup"] == container["securityContext"]["runAsGroup"]
    assert rendered.of_kind("Secret") == []
    # No ConfigMap beside the pods that could carry it: the adapter rules live in monitoring,
    # and those in the tier's namespace hold only the Grafana dashboards' JSON and (medium,
    # high) the storage log's server configuration, which has no credentials.
    maps = {
        c["metadata"]["name"]: c
        for c in rendered.of_kind("ConfigMap")
        if c["metadata"]["namespace"] != "monitoring"
    }
    assert set(maps) - {"nats"} == {"sutra-grafana-dashboards"}
    for config in maps.get("nats", {}).get("data", {}).values():
        assert not re.search(r"\b(password|token|authorization)\b", config)


def test_control_has_the_scaling_documents_size(rendered) -> None:
    (c,) = rendered.get("Deployment", "sutra-control")["spec"]["template"]["spec"]["containers"]
    as_numbers = {
        k: {r: parse_quantity(v) for r, v in c["resources"][k].items()}
        for k in ("requests", "limits")
    }
    assert as_numbers == {
        "requests": {"cpu": parse_quantity("250m"), "memory": parse_quantity("256Mi")},
        "limits": {"cpu": parse_quantity("1000m"), "memory": parse_quantity("1Gi")},
    }
