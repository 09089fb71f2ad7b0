"""The single-writer store: one pod, its own volume, a drain on SIGTERM, snapshots per tier."""

from __future__ import annotations


def _storage(rendered) -> dict:
    return rendered.get("StatefulSet", "storage-server")


def test_storage_is_one_ordered_statefulset(rendered, tier_table: dict) -> None:
    sts = _storage(rendered)
    assert sts["spec"]["replicas"] == 1
    assert sts["spec"]["serviceName"] == "storage-server"
    assert sts["spec"]["podManagementPolicy"] == "OrderedReady"
    assert sts["spec"]["updateStrategy"]["type"] == "RollingUpdate"
    assert rendered.find("HorizontalPodAutoscaler", "storage-server") is None
    assert rendered.find("Deployment", "storage-server") is None


def test_storage_volume_is_50gi_read_write_once(rendered, tier_table: dict) -> None:
    policy = tier_table["storage"]
    (claim,) = _storage(rendered)["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "storage-data"
    assert claim["spec"]["accessModes"] == [policy["access_mode"]]
    assert claim["spec"]["resources"]["requests"]["storage"] == f"{policy['min_volume_gi']}Gi"
    (container,) = _storage(rendered)["spec"]["template"]["spec"]["containers"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["storage-data"] == "/var/lib/sutra"


def test_storage_drains_on_sigterm_within_its_grace_period(rendered) -> None:
    pod = _storage(rendered)["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] >= 60
    (container,) = pod["containers"]
    assert "preStop" not in (container.get("lifecycle") or {})


def test_storage_probes_are_native_grpc_and_metrics_are_exposed(rendered, tier_table) -> None:
    (container,) = _storage(rendered)["spec"]["template"]["spec"]["containers"]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["grpc"]["port"] == 50051, probe
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"grpc": 50051, "metrics": 9091}
    env = {e["name"]: e.get("value") for e in container["env"]}
    # Where the tier runs the replicated store, the writer appends to its log as well, and
    # keeps it as long as the tier table says (rule log_retention).
    backups = tier_table["tiers"][rendered.tier]["backups"]
    log = {
        "SUTRA_STORAGE_STREAM_MAX_AGE_SECONDS": str(backups.get("log_max_age_minutes", 0) * 60),
        "SUTRA_STORAGE_NATS_URL": "nats://nats:4222",
        "SUTRA_STORAGE_ROLE": "writer",
        "SUTRA_STORAGE_STREAM": "SUTRA_STORAGE_0",
        "SUTRA_STORAGE_STREAM_REPLICAS": "3",
        "SUTRA_STORAGE_ADVERTISE": "storage-server:50051",
    }
    assert env == {
        "SUTRA_STORAGE_PATH": "/var/lib/sutra",
        "SUTRA_STORAGE_HOST": "0.0.0.0",
        "SUTRA_STORAGE_PORT": "50051",
        "SUTRA_METRICS_PORT": "9091",
        "SUTRA_VECTOR_DIMENSION": "384",
        **(log if rendered.find("StatefulSet", "nats") else {}),
        **_shard_zero(tier_table, rendered.tier),
    }


def _shard_zero(tier_table: dict, tier: str) -> dict[str, str]:
    """Shard 0's own env in a sharded tier (storage.shards; tests/manifests/test_shards.py)."""
    count = tier_table["tiers"][tier].get("storage", {}).get("shards", 1)
    if count == 1:
        return {}
    return {"SUTRA_STORAGE_SHARD": "0", "SUTRA_STORAGE_SHARD_COUNT": str(count),
            "SUTRA_STORAGE_STREAM": "SUTRA_STORAGE_0"}  # fmt: skip


def test_storage_service_is_headless(rendered) -> None:
    svc = rendered.get("Service", "storage-server")
    assert svc["spec"]["clusterIP"] == "None"
    assert {p["port"] for p in svc["spec"]["ports"]} == {50051, 9091}


def test_snapshot_job_runs_on_the_tiers_schedule_one_at_a_time_onto_its_own_volume(
    rendered, tier_table: dict
) -> None:
    backups = tier_table["tiers"][rendered.tier]["backups"]
    job = rendered.get("CronJob", "storage-snapshot")
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    assert job["spec"]["schedule"] == backups["schedule"]
    assert job["spec"]["timeZone"] == "Etc/UTC"
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"].startswith("ghcr.io/sutra-ai/storage-server:")
    argv = [*container.get("command", []), *container.get("args", [])]
    assert argv[-8:] == ["storage", "snapshot", "--server", "storage-server:50051", "--to",
                         "/snapshots", "--keep", str(backups["keep"])]  # fmt: skip
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"]
              for v in pod["volumes"] if "persistentVolumeClaim" in v}  # fmt: skip
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert claims == {"snapshots": "storage-snapshots"}
    assert mounts["snapshots"] == "/snapshots"
    pvc = rendered.get("PersistentVolumeClaim", "storage-snapshots")
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pvc["spec"]["resources"]["requests"]["storage"] == f"{backups['volume_gi']}Gi"
