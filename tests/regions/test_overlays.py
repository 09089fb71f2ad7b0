"""Each region overlay is its tier plus exactly the region's differences (the table's row):
every object is compared with the tier's own rendering once the expected differences are
taken out again, so anything else a region changed fails here."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sutra.gitops import region_files, regions, shard_files, shards, tiers
from sutra.gitops.policy import PolicySet

from .conftest import REPO_ROOT

NAMES = [p.name for p in regions.placements(tiers.load(REPO_ROOT))]

Key = tuple[str, str]
INSTANCE = "app.kubernetes.io/instance"
HPA_WORKLOADS = ("sutra-client", "sutra-api", "sutra-hybrid")
ZONE = "topology.kubernetes.io/zone"
# What a region that is not the tier's storage primary drops (components/regions/storage-remote).
WRITER_ONLY = {
    ("StatefulSet", "storage-server"),
    ("CronJob", "storage-snapshot"),
    ("PersistentVolumeClaim", "storage-snapshots"),
    ("ServiceAccount", "storage-server"),
    ("ServiceAccount", "storage-snapshot"),
    ("NetworkPolicy", "storage-server"),
    ("NetworkPolicy", "storage-snapshot"),
    ("ServiceMonitor", "storage-server"),
}
# And where the tier runs the replicated store (components/regions/replication-remote): the log
# and the read followers, which run beside the writer, and the readers' list of followers.
REPLICATION_ONLY = {
    (kind, name)
    for name in ("nats", "storage-replica")
    for kind in ("StatefulSet", "Service", "ServiceAccount", "PodDisruptionBudget", "NetworkPolicy")
} | {("ConfigMap", "nats"), ("Service", "nats-headless"), ("ServiceMonitor", "storage-replica")}
READERS = "SUTRA_STORAGE_READERS"
SHARD_READERS = "SUTRA_STORAGE_SHARD_READERS"


def _shard_copies(table: dict[str, Any], tier: str) -> set[Key]:
    """The objects shards 1..N-1 of a sharded tier add (overlays/<tier>/storage-shards)."""
    return {
        (kind, shards.name(base, i))
        for kind, base in shard_files.sources(table, tier)
        for i in range(1, shards.count(table, tier))
    }


def by_key(objects: list[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def _walk_labels(obj: Any) -> None:
    """Drop the instance label wherever kustomize's `labels` put it (metadata and templates)."""
    if isinstance(obj, dict):
        labels = (obj.get("metadata") or {}).get("labels") if "metadata" in obj else None
        if isinstance(labels, dict):
            labels.pop(INSTANCE, None)
        for value in obj.values():
            _walk_labels(value)
    elif isinstance(obj, list):
        for value in obj:
            _walk_labels(value)


def _undo_zones(obj: dict[str, Any], zones: tuple[str, ...]) -> None:
    """The zone spread appended to base's constraints, and the zones' node affinity."""
    spec = obj["spec"]["template"]["spec"]
    affinity = spec.pop("affinity")
    (term,) = affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert term["matchExpressions"] == [{"key": ZONE, "operator": "In", "values": list(zones)}]
    spread = spec["topologySpreadConstraints"]
    (zone,) = [c for c in spread if c["topologyKey"] == ZONE]
    assert (zone["maxSkew"], zone["whenUnsatisfiable"]) == (1, "ScheduleAnyway")
    spread.remove(zone)


def _undo_storage_class(obj: dict[str, Any], storage_class: str) -> None:
    spec = obj["spec"] if obj["kind"] != "StatefulSet" else obj["spec"]["volumeClaimTemplates"][0]
    spec = spec if obj["kind"] != "StatefulSet" else spec["spec"]
    assert spec.pop("storageClassName") == storage_class


def _undo_remote_alerts(region: dict[Key, dict[str, Any]], tier: dict[Key, dict[str, Any]]) -> None:
    """The storage alerts the remote region drops: check they are exactly those, put them back."""
    for name, groups in (("sutra-alerts", ["storage-server"]),
                         ("sutra-tier-alerts", ["sutra-tier-snapshots"])):  # fmt: skip
        have = region[("PrometheusRule", name)]["spec"]["groups"]
        want = tier[("PrometheusRule", name)]["spec"]["groups"]
        assert [g["name"] for g in want if g["name"] not in groups] == [g["name"] for g in have]
        have[:] = copy.deepcopy(want)
    replicas = region[("PrometheusRule", "sutra-tier-alerts")]["spec"]["groups"][0]["rules"]
    assert "storage-server" in {r["labels"]["workload"] for r in replicas}


def _no_shard_alerts(region: dict[Key, dict[str, Any]], table: dict[str, Any], tier: str) -> None:
    """A remote region pages for no storage shard (the primary's Prometheus does)."""
    rules = region[("PrometheusRule", "sutra-tier-alerts")]["spec"]["groups"][0]["rules"]
    paged = {r["labels"]["workload"] for r in rules}
    assert not paged & (set(shards.workloads(table, tier)) - set(table["tiers"][tier]["workloads"]))


def _strip_region(
    place: regions.Placement, region: regions.Region, objects: dict[Key, dict[str, Any]]
) -> None:
    """Take the region's expected differences out of OBJECTS (a deep copy), asserting each."""
    ingress = objects.pop(("Ingress", "sutra-client"))
    assert [r["host"] for r in ingress["spec"]["rules"]] == [place.host]
    assert ingress["spec"]["tls"] == [{"hosts": [place.host], "secretName": "sutra-client-tls"}]
    for name in HPA_WORKLOADS:
        _undo_zones(objects[("Deployment", name)], region.zones)
    if place.primary:
        for kind, name in list(objects):  # every shard's volumes
            base = shards.unsharded(tiers.load(REPO_ROOT), name)
            if (kind, base) == ("PersistentVolumeClaim", "storage-snapshots") or (
                kind == "StatefulSet" and base in ("storage-server", "nats", "storage-replica")
            ):
                _undo_storage_class(objects[(kind, name)], region.storage_class)
        return
    remote = objects.pop(("NetworkPolicy", "storage-remote"))
    (rule,) = remote["spec"]["egress"]
    assert rule["to"] == [{"ipBlock": {"cidr": place.storage_network}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": 50051}]
    service = objects[("Service", "storage-server")]["spec"]
    assert service["type"] == "ExternalName"
    assert service["externalName"] == place.storage_host
    assert [p["port"] for p in service["ports"]] == [50051]


def _undo_bucket(
    place: regions.Placement,
    region: regions.Region,
    ours: dict[Key, dict[str, Any]],
    theirs: dict[Key, dict[str, Any]],
) -> None:
    """Where a replicated tier's writer runs: snapshots in the region's bucket, not on a claim;
    the followers read them. Check the job's and followers' additions, then put theirs back."""
    assert region.snapshots is not None
    total = _shards(theirs)
    egress = ours[("NetworkPolicy", "storage-snapshot")]["spec"]["egress"]
    assert egress.pop()["ports"] == [{"protocol": "TCP", "port": region.snapshots.port}]
    for i in range(total):  # every shard's job, claim and followers
        claim, job_name = shards.name("storage-snapshots", i), shards.name("storage-snapshot", i)
        assert ("PersistentVolumeClaim", claim) not in ours
        del theirs[("PersistentVolumeClaim", claim)]
        job = ours[("CronJob", job_name)]["spec"]["jobTemplate"]["spec"]["template"]
        secret = job["spec"]["volumes"][0]["secret"]["secretName"]
        assert secret == "storage-snapshots-s3"
        url = job["spec"]["containers"][0]["args"][5]
        assert url == region.snapshots.url(place.tier) + (f"/shard-{i}" if total > 1 else "")
        ours[("CronJob", job_name)] = theirs[("CronJob", job_name)]
        followers = shards.name("storage-replica", i)
        egress = ours[("NetworkPolicy", followers)]["spec"]["egress"]
        assert egress.pop()["ports"] == [{"protocol": "TCP", "port": region.snapshots.port}]
        pod = ours[("StatefulSet", followers)]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        added = [
            e for e in container["env"] if e["name"].startswith(("AWS_", "SUTRA_STORAGE_SNAP"))
        ]
        assert added[0] == {"name": "SUTRA_STORAGE_SNAPSHOT_DIR", "value": url}
        container["env"] = [e for e in container["env"] if e not in added]
        assert container["volumeMounts"].pop()["readOnly"] is True
        assert pod["volumes"].pop()["secret"]["secretName"] == "storage-snapshots-s3-read"


def _shards(objects: dict[Key, dict[str, Any]]) -> int:
    """The shard count the rendered writer says (1 when unsharded)."""
    (container,) = objects[("StatefulSet", "storage-server")]["spec"]["template"]["spec"][
        "containers"
    ]
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    return int(env.get("SUTRA_STORAGE_SHARD_COUNT", "1"))


def _undo_remote_shards(
    place: regions.Placement, ours: dict[Key, Any], theirs: dict[Key, Any], table: dict[str, Any]
) -> None:
    """Shards 1..N-1 where another region is the primary: none of their objects, each shard's
    Service an ExternalName for the primary's host of that shard, no alert on them."""
    for kind, name in _shard_copies(table, place.tier):
        assert (kind, name) in theirs
        writer = kind == "Service" and shards.unsharded(table, name) == table["storage"]["workload"]
        if not writer:
            assert (kind, name) not in ours, name
            del theirs[(kind, name)]
            continue
        service = ours.pop((kind, name))["spec"]
        index = int(name.rsplit("-", 1)[1])
        assert service["type"] == "ExternalName"
        assert service["externalName"] == region_files.shard_host(place.storage_host, index)
        del theirs[(kind, name)]


def _drop_readers(region: dict[Key, dict[str, Any]], tier: dict[Key, dict[str, Any]]) -> None:
    """The readers' SUTRA_STORAGE_READERS, gone in the region: drop it from the tier's too."""
    for name in ("sutra-api", "sutra-hybrid", "sutra-control"):
        for objects, present in ((tier, True), (region, False)):
            (container,) = objects[("Deployment", name)]["spec"]["template"]["spec"]["containers"]
            env = container["env"]
            assert any(e["name"] == READERS for e in env) == present, name
            if not present:
                assert all(e["name"] != SHARD_READERS for e in env), name
            env[:] = [e for e in env if e["name"] not in (READERS, SHARD_READERS)]


@pytest.mark.parametrize("name", NAMES)
def test_a_region_overlay_is_its_tier_plus_the_regions_row(
    name: str, placements, rendered_regions, tier_objects, tier_table
) -> None:
    (place,) = [p for p in placements if p.name == name]
    region = regions.load(tier_table)[0][place.region]
    ours = by_key(copy.deepcopy(rendered_regions[place]))
    theirs = by_key(copy.deepcopy(tier_objects[place.tier]))
    for obj in ours.values():
        labels = obj["metadata"].get("labels") or {}
        if obj["kind"] != "Namespace" and INSTANCE in labels:
            assert labels[INSTANCE] == place.cluster, obj["metadata"]["name"]
    _walk_labels(ours)
    _walk_labels(theirs)
    _strip_region(place, region, ours)
    if place.primary and ("StatefulSet", "nats") in theirs:
        _undo_bucket(place, region, ours, theirs)
    if not place.primary:
        assert set(theirs) >= WRITER_ONLY
        assert not WRITER_ONLY & set(ours)
        _no_shard_alerts(ours, tier_table, place.tier)
        _undo_remote_alerts(ours, theirs)
        for key in WRITER_ONLY:
            del theirs[key]
        del ours[("Service", "storage-server")], theirs[("Service", "storage-server")]
        _undo_remote_shards(place, ours, theirs, tier_table)
        if ("StatefulSet", "nats") in theirs:
            assert set(theirs) >= REPLICATION_ONLY and not REPLICATION_ONLY & set(ours)
            for key in REPLICATION_ONLY:
                del theirs[key]
            _drop_readers(ours, theirs)
    assert sorted(ours) == sorted(theirs)
    changed = [key for key in ours if ours[key] != theirs[key]]
    assert changed == [], f"{place.name} changes more than the region's row: {changed}"


def test_every_placement_is_rendered(placements, rendered_regions) -> None:
    """The example regions: eu-west runs every tier, us-east medium and high; one primary each."""
    assert [p.name for p in placements] == [
        "eu-west/low", "eu-west/medium", "eu-west/high",
        "us-east/medium", "us-east/high"]  # fmt: skip
    assert {p.tier: p.region for p in placements if p.primary} == {
        "low": "eu-west", "medium": "eu-west", "high": "us-east"}  # fmt: skip
    assert all(rendered_regions[p] for p in placements)


def test_every_region_overlay_passes_every_rule(placements, rendered_regions) -> None:
    policies = PolicySet()
    for place in placements:
        found = policies.evaluate(rendered_regions[place], place.tier, place.region)
        assert [str(v) for v in found] == []


def test_a_region_overlay_judged_as_another_region_fails_the_region_rules(
    placements, rendered_regions
) -> None:
    """The rules read the region's row: eu-west's high (remote) judged as us-east's (the
    primary) lacks the writer, and has eu-west's host, class and zones."""
    (place,) = [p for p in placements if p.name == "eu-west/high"]
    found = PolicySet().evaluate(rendered_regions[place], "high", "us-east")
    rules = {v.rule for v in found}
    assert rules >= {"region_storage_writer", "region_overlay", "storage_single_writer"}
    assert all(str(v).startswith("us-east/high ") for v in found)
