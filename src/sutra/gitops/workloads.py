"""The long-running workloads of a rendered tier: replica ranges and per-pod resources.

Shared by the gate's summary (`sutra check`) and the sizing report (`sutra tiers report`), so
both count the same pods with the same requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from sutra.gitops.quantities import parse_quantity

WORKLOAD_KINDS = ("Deployment", "StatefulSet")
Scale = Literal["min", "max"]


@dataclass(frozen=True)
class Workload:
    """A long-running workload with its replica range and per-pod resources."""

    kind: str
    name: str
    min_replicas: int
    max_replicas: int
    autoscaled: bool
    requests: tuple[Decimal, Decimal]  # (cpu cores, memory bytes) per pod
    limits: tuple[Decimal, Decimal]

    def replicas(self, scale: Scale) -> int:
        return self.min_replicas if scale == "min" else self.max_replicas


def _pod_totals(pod_spec: dict[str, Any], key: str) -> tuple[Decimal, Decimal]:
    cpu = memory = Decimal(0)
    for container in pod_spec.get("containers") or []:
        amounts = (container.get("resources") or {}).get(key) or {}
        cpu += parse_quantity(amounts.get("cpu", 0))
        memory += parse_quantity(amounts.get("memory", 0))
    return cpu, memory


def workloads(objects: Sequence[dict[str, Any]]) -> list[Workload]:
    """Deployments and StatefulSets with the replica range their HPA (or `replicas`) allows."""
    hpas = {
        (o["spec"]["scaleTargetRef"].get("kind"), o["spec"]["scaleTargetRef"].get("name")): o
        for o in objects
        if o.get("kind") == "HorizontalPodAutoscaler"
        and (o.get("spec") or {}).get("scaleTargetRef")
    }
    found = []
    for obj in objects:
        if obj.get("kind") not in WORKLOAD_KINDS:
            continue
        name = obj["metadata"]["name"]
        spec = obj.get("spec") or {}
        pod = ((spec.get("template") or {}).get("spec")) or {}
        hpa = hpas.get((obj["kind"], name))
        if hpa is not None:
            low = int(hpa["spec"].get("minReplicas", 1))
            high = int(hpa["spec"].get("maxReplicas", low))
        else:
            low = high = int(spec.get("replicas", 1))
        found.append(
            Workload(
                kind=obj["kind"],
                name=name,
                min_replicas=low,
                max_replicas=high,
                autoscaled=hpa is not None,
                requests=_pod_totals(pod, "requests"),
                limits=_pod_totals(pod, "limits"),
            )
        )
    return found


def capacity(found: Sequence[Workload], key: str, scale: Scale) -> tuple[Decimal, Decimal]:
    """(cpu cores, memory bytes) of KEY ("requests" or "limits") summed over every pod of
    FOUND with each workload at its minimum or maximum replicas."""
    cpu = memory = Decimal(0)
    for w in found:
        per_pod = getattr(w, key)
        cpu += per_pod[0] * w.replicas(scale)
        memory += per_pod[1] * w.replicas(scale)
    return cpu, memory
