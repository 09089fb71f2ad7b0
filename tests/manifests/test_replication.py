"""The replicated store of medium and high (components/nats, components/storage-replicas): the
log's servers keep a quorum, the followers are the table's, every reader names them, and the
NetworkPolicies let exactly the storage pods reach the log. Low runs none of it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sutra.gitops import shards
from sutra.storage.replication.cluster import nats_server_binary

from .test_network_policies import NAMESPACE, Pod, _pods, can_connect

LOG_CLIENT_PORT, LOG_CLUSTER_PORT = 4222, 6222


def _replication(table: dict[str, Any]) -> dict[str, Any]:
    return table["storage"]["replication"]


def _runs(table: dict[str, Any], tier: str, workload: str) -> bool:
    return workload in table["tiers"][tier]["workloads"]


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


def _readers(rendered, name: str) -> list[str]:
    containers = rendered.get("Deployment", name)["spec"]["template"]["spec"]["containers"]
    values = [
        _env(c)["SUTRA_STORAGE_READERS"] for c in containers if "SUTRA_STORAGE_READERS" in _env(c)
    ]
    return [a for v in values for a in v.split(",")]


def test_the_log_runs_three_servers_that_keep_a_quorum(rendered, tier_table) -> None:
    log = _replication(tier_table)["log"]
    if not _runs(tier_table, rendered.tier, log):
        assert rendered.find("StatefulSet", log) is None
        assert not [o for o in rendered.objects if o["metadata"]["name"].startswith(log)]
        return
    sts = rendered.get("StatefulSet", log)
    assert (
        sts["spec"]["replicas"] == tier_table["tiers"][rendered.tier]["workloads"][log]["replicas"]
    )
    assert sts["spec"]["replicas"] >= _replication(tier_table)["min_log_replicas"]
    assert rendered.get("PodDisruptionBudget", log)["spec"]["minAvailable"] == 2
    pod = sts["spec"]["template"]["spec"]
    (anti,) = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert anti["topologyKey"] == "kubernetes.io/hostname"
    assert anti["labelSelector"]["matchLabels"] == sts["spec"]["selector"]["matchLabels"]
    (spread,) = pod["topologySpreadConstraints"]
    assert spread["topologyKey"] == "topology.kubernetes.io/zone"
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    headless = rendered.get("Service", sts["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["publishNotReadyAddresses"]


def test_the_log_configuration_is_one_nats_server_accepts(rendered_tiers, tmp_path: Path) -> None:
    """`nats-server -t` on the rendered configuration: JetStream on the pod's volume, fsync on
    every append, and the routes to the three pods."""
    config = next(
        r.get("ConfigMap", "nats")["data"]["nats-server.conf"]
        for r in rendered_tiers.values()
        if r.find("ConfigMap", "nats")
    )
    assert "sync_interval: always" in config
    for i in range(3):
        assert f"nats://nats-{i}.nats-headless:{LOG_CLUSTER_PORT}" in config
    path = tmp_path / "nats-server.conf"
    path.write_text(config)
    env = {**os.environ, "SERVER_NAME": "nats-0"}
    done = subprocess.run(
        [nats_server_binary(), "-t", "-c", str(path)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    broken = path.with_name("broken.conf")
    broken.write_text(config.replace("sync_interval: always", "sync_interval: sometimes"))
    done = subprocess.run(
        [nats_server_binary(), "-t", "-c", str(broken)], env=env, capture_output=True
    )
    assert done.returncode != 0  # the check can fail


def test_followers_are_the_tables_and_every_reader_names_each(rendered, tier_table) -> None:
    replication, port = _replication(tier_table), tier_table["storage"]["port"]
    followers = replication["followers"]
    if not _runs(tier_table, rendered.tier, followers):
        assert rendered.find("StatefulSet", followers) is None
        for reader in replication["readers"]:
            assert _readers(rendered, reader) == [], reader
        return
    sts = rendered.get("StatefulSet", followers)
    count = tier_table["tiers"][rendered.tier]["workloads"][followers]["replicas"]
    assert sts["spec"]["replicas"] == count >= replication["min_followers"]
    service = sts["spec"]["serviceName"]
    expected = [f"{followers}-{i}.{service}:{port}" for i in range(count)]
    for reader in replication["readers"]:
        assert _readers(rendered, reader) == expected, reader
    assert rendered.get("Service", service)["spec"]["clusterIP"] == "None"


def test_a_follower_is_no_writer_and_is_ready_only_when_caught_up(rendered, tier_table) -> None:
    followers = _replication(tier_table)["followers"]
    sts = rendered.find("StatefulSet", followers)
    if sts is None:
        pytest.skip(f"{rendered.tier} runs no followers")
    template = sts["spec"]["template"]
    assert (
        template["metadata"]["labels"]["app.kubernetes.io/name"]
        != tier_table["storage"]["workload"]
    )
    (container,) = template["spec"]["containers"]
    env = _env(container)
    assert env["SUTRA_STORAGE_ROLE"] == "follower"
    assert env["SUTRA_STORAGE_NATS_URL"] == _env(_writer(rendered))["SUTRA_STORAGE_NATS_URL"]
    assert container["readinessProbe"]["grpc"]["port"] == tier_table["storage"]["port"]
    # A lagging follower is unready, never restarted for it.
    assert "grpc" not in container["livenessProbe"] and "grpc" not in container["startupProbe"]
    assert rendered.get("StatefulSet", tier_table["storage"]["workload"])["spec"]["replicas"] == 1


def _writer(rendered) -> dict[str, Any]:
    (container,) = rendered.get("StatefulSet", "storage-server")["spec"]["template"]["spec"][
        "containers"
    ]
    return container


def test_only_the_storage_pods_reach_the_log(rendered, tier_table) -> None:
    log = _replication(tier_table)["log"]
    if rendered.find("StatefulSet", log) is None:
        pytest.skip(f"{rendered.tier} runs no log")
    policies = rendered.of_kind("NetworkPolicy")
    pods = _pods(rendered)
    (server,) = [p for p in pods if p.name == log]
    reaching = {
        p.name
        for p in pods
        if p is not server and can_connect(policies, p, server, LOG_CLIENT_PORT)
    }
    stores = {tier_table["storage"]["workload"], _replication(tier_table)["followers"]}
    every_shard = range(shards.count(tier_table, rendered.tier))
    assert reaching == {shards.name(store, i) for store in stores for i in every_shard}
    peer = Pod(f"{log}-1", server.labels, server.ports, server.ns_labels)
    assert can_connect(policies, server, peer, LOG_CLUSTER_PORT)
    writer = next(p for p in pods if p.name == tier_table["storage"]["workload"])
    assert not can_connect(policies, writer, server, LOG_CLUSTER_PORT)
    outsider = Pod("stranger", {"app": "x"}, {}, {"kubernetes.io/metadata.name": NAMESPACE})
    assert not can_connect(policies, outsider, server, LOG_CLIENT_PORT)


def test_only_the_primary_region_runs_the_log_and_the_followers(region_objects, tier_table) -> None:
    replication = _replication(tier_table)
    checked = 0
    for (region, tier), objects in region_objects.items():
        if not _runs(tier_table, tier, replication["log"]):
            continue
        primary = tier_table["regions"][region]["tiers"][tier]["storage"] == "primary"
        names = {(o["kind"], o["metadata"]["name"]) for o in objects}
        for workload in (replication["log"], replication["followers"]):
            assert (("StatefulSet", workload) in names) == primary, (region, tier, workload)
        readers = [
            e for o in objects if o["kind"] == "Deployment"
            for c in o["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])
            if e["name"] == "SUTRA_STORAGE_READERS"
        ]  # fmt: skip
        assert bool(readers) == primary, (region, tier)
        checked += 1
    assert checked
