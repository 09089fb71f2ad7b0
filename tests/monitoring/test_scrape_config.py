"""The scrape jobs generated from the ServiceMonitors, before any Prometheus reads them: each
endpoint reaches the local process serving its port, and a monitor the generator cannot
translate faithfully stops the run instead of being scraped some other way."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from .conftest import find
from .prometheus import LocalPod, ScrapeConfigError, scrape_jobs

PODS = {
    "storage-server": [LocalPod("storage-server-0", {"grpc": 1001, "metrics": 1002})],
    "sutra-api": [LocalPod("sutra-api-0", {"http": 2001}), LocalPod("sutra-api-1", {"http": 2002})],
    "sutra-hybrid": [LocalPod("sutra-hybrid-0", {"http": 3001})],
    "sutra-control": [LocalPod("sutra-control-0", {"http": 4001})],
    "storage-replica": [LocalPod("storage-replica-0", {"grpc": 5001, "metrics": 5002})],
}


def _jobs(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {job["job_name"]: job for job in scrape_jobs(objects, PODS, "1s")}


def test_each_endpoint_scrapes_the_pods_behind_its_service_port(tiers) -> None:
    jobs = _jobs(tiers["high"])
    names = ("storage-replica", "storage-server", "sutra-api", "sutra-control", "sutra-hybrid")
    # High's storage shards 1..3 (storage.shards) each scrape their own writer and followers.
    names += tuple(f"{store}-{i}" for store in names[:2] for i in range(1, 4))
    assert sorted(jobs) == sorted(f"serviceMonitor/sutra-ai/{name}/0" for name in names)
    # The followers' job is theirs (the lag alert selects job="storage-replica"), not the writer's.
    (follower,) = jobs["serviceMonitor/sutra-ai/storage-replica/0"]["static_configs"]
    assert follower["targets"] == ["127.0.0.1:5002"]
    assert follower["labels"]["job"] == "storage-replica"
    storage = jobs["serviceMonitor/sutra-ai/storage-server/0"]
    assert storage["metrics_path"] == "/metrics"
    assert storage["static_configs"] == [
        {
            "targets": ["127.0.0.1:1002"],  # the metrics port, not gRPC
            "labels": {"namespace": "sutra-ai", "service": "storage-server",
                       "pod": "storage-server-0", "container": "storage-server",
                       "endpoint": "metrics", "job": "storage-server"},
        }
    ]  # fmt: skip
    api = jobs["serviceMonitor/sutra-ai/sutra-api/0"]["static_configs"]
    assert [(t["targets"], t["labels"]["pod"]) for t in api] == [
        (["127.0.0.1:2001"], "sutra-api-0"), (["127.0.0.1:2002"], "sutra-api-1")]  # fmt: skip


def _port_typo(objects: list[dict[str, Any]]) -> None:
    find(objects, "ServiceMonitor", "sutra-hybrid")["spec"]["endpoints"][0]["port"] = "metrics"


def _relabelling(objects: list[dict[str, Any]]) -> None:
    endpoint = find(objects, "ServiceMonitor", "sutra-api")["spec"]["endpoints"][0]
    endpoint["relabelings"] = [{"targetLabel": "tier", "replacement": "high"}]


def _selector_typo(objects: list[dict[str, Any]]) -> None:
    monitor = find(objects, "ServiceMonitor", "sutra-control")
    monitor["spec"]["selector"]["matchLabels"] = {"app.kubernetes.io/name": "sutra-contrl"}


def _target_port_gone(objects: list[dict[str, Any]]) -> None:
    (port,) = find(objects, "Service", "sutra-api")["spec"]["ports"]
    port["targetPort"] = "web"


@pytest.mark.parametrize(
    ("breaks", "message"),
    [
        (_port_typo, "Service sutra-hybrid has no port 'metrics' (ServiceMonitor sutra-hybrid)"),
        (_relabelling, "ServiceMonitor sutra-api endpoint 0: untranslated ['relabelings']"),
        (_selector_typo, "ServiceMonitor sutra-control selects no Service in sutra-ai"),
        (_target_port_gone, "sutra-api has no container port 'web'"),
    ],
)
def test_a_monitor_that_cannot_be_translated_stops_the_run(tiers, breaks, message: str) -> None:
    objects = copy.deepcopy(tiers["high"])
    breaks(objects)
    with pytest.raises(ScrapeConfigError) as error:
        scrape_jobs(objects, PODS, "1s")
    assert str(error.value) == message
