"""Size and monthly cost of each tier, from its rendered manifests and a price table.

The tier table gives each tier the monthly cost range the scaling document promises
(`cost_usd_month`); this module prices what the overlays actually ask for, so a resize that
breaks the promise shows up in `sutra tiers report` and in base/README.md. Compute is priced on
requests (what the scheduler reserves on nodes), not on limits; volumes on their claimed size.
The prices (policies/data/prices.yaml) are an estimate from public list prices, not a quote.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from sutra.gitops import render
from sutra.gitops import tiers as tier_table
from sutra.gitops.paths import repo_root
from sutra.gitops.quantities import parse_quantity
from sutra.gitops.workloads import Scale, Workload, capacity, workloads

PRICES = Path("policies") / "data" / "prices.yaml"
GIB = Decimal(2**30)
SCALES: tuple[Scale, Scale] = ("min", "max")


class PriceTableError(RuntimeError):
    """The price table cannot be read or lacks a price; one line naming the file."""


@dataclass(frozen=True)
class Prices:
    """Unit prices in USD: per vCPU-hour, per GiB-hour of memory, per GiB-month of volume."""

    hours_per_month: Decimal
    cpu_per_vcpu_hour: Decimal
    memory_per_gib_hour: Decimal
    volume_per_gib_month: Decimal

    def compute(self, cpu: Decimal, memory: Decimal) -> Decimal:
        """A month of CPU cores and memory bytes, running all month."""
        hourly = cpu * self.cpu_per_vcpu_hour + memory / GIB * self.memory_per_gib_hour
        return hourly * self.hours_per_month

    def volume(self, size: Decimal) -> Decimal:
        """A month of a volume of SIZE bytes."""
        return size / GIB * self.volume_per_gib_month


def load_prices(root: Path | None = None) -> Prices:
    """The price table of the checkout at ROOT."""
    path = (root or repo_root()) / PRICES
    try:
        table = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return Prices(**{f: Decimal(str(table[f])) for f in Prices.__dataclass_fields__})
    except (OSError, yaml.YAMLError) as exc:
        raise PriceTableError(f"{PRICES}: {str(exc).splitlines()[0]}") from None
    except (KeyError, TypeError, ArithmeticError) as exc:
        raise PriceTableError(f"{PRICES}: missing or not a number: {exc}") from None


@dataclass(frozen=True)
class Volume:
    """A claimed volume: a StatefulSet's claim template (one per replica) or a PVC."""

    name: str
    size: Decimal  # bytes
    per_replica: bool


@dataclass(frozen=True)
class WorkloadSize:
    """One workload of a tier: its pods (shared with the gate) and its claim templates."""

    workload: Workload
    volumes: tuple[Volume, ...]

    def resources(self, key: str, scale: Scale) -> tuple[Decimal, Decimal]:
        return capacity([self.workload], key, scale)

    def storage(self, scale: Scale) -> Decimal:
        return sum((v.size for v in self.volumes), Decimal(0)) * self.workload.replicas(scale)

    def cost(self, prices: Prices, scale: Scale) -> Decimal:
        return prices.compute(*self.resources("requests", scale)) + prices.volume(
            self.storage(scale)
        )


def compare(cost: Decimal, budget: dict[str, Any] | None) -> str:
    """Where COST falls against the tier's range: "within", "below" or "above"."""
    if not budget:
        return "no range"
    if cost < Decimal(str(budget["min"])):
        return "below"
    return "above" if cost > Decimal(str(budget["max"])) else "within"


@dataclass(frozen=True)
class TierSize:
    """A tier's workloads, its stand-alone claims and its cost range from the tier table."""

    tier: str
    workloads: tuple[WorkloadSize, ...]
    claims: tuple[Volume, ...]
    budget: dict[str, Any] | None
    prices: Prices

    def resources(self, key: str, scale: Scale) -> tuple[Decimal, Decimal]:
        return capacity([w.workload for w in self.workloads], key, scale)

    def storage(self, scale: Scale) -> Decimal:
        claimed = sum((c.size for c in self.claims), Decimal(0))
        return claimed + sum((w.storage(scale) for w in self.workloads), Decimal(0))

    def cost(self, scale: Scale) -> Decimal:
        claims = sum((self.prices.volume(c.size) for c in self.claims), Decimal(0))
        return claims + sum((w.cost(self.prices, scale) for w in self.workloads), Decimal(0))

    def comparison(self, scale: Scale) -> str:
        return compare(self.cost(scale), self.budget)


def _claim_size(claim: dict[str, Any]) -> Decimal:
    requests = ((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}
    return parse_quantity(requests.get("storage", 0))


def size_objects(
    tier: str, objects: Sequence[dict[str, Any]], budget: dict[str, Any] | None, prices: Prices
) -> TierSize:
    """The size of one rendered tier (OBJECTS as `sutra render` prints them)."""
    templates: dict[str, tuple[Volume, ...]] = {}
    claims = []
    for obj in objects:
        name = obj.get("metadata", {}).get("name", "?")
        if obj.get("kind") == "StatefulSet":
            spec = obj.get("spec") or {}
            templates[name] = tuple(
                Volume(t["metadata"]["name"], _claim_size(t), per_replica=True)
                for t in spec.get("volumeClaimTemplates") or []
            )
        elif obj.get("kind") == "PersistentVolumeClaim":
            claims.append(Volume(name, _claim_size(obj), per_replica=False))
    sized = tuple(WorkloadSize(w, templates.get(w.name, ())) for w in workloads(objects))
    return TierSize(tier, sized, tuple(claims), budget, prices)


def size_tiers(tiers: Sequence[str] | None = None, root: Path | None = None) -> list[TierSize]:
    """Each tier (default: every tier of the table) rendered with kustomize and sized."""
    root = root or repo_root()
    table = tier_table.load(root)
    tiers = list(tiers) if tiers else list(table["tiers"])
    for tier in tiers:
        render.check_tier(tier, root)
    prices = load_prices(root)
    with ThreadPoolExecutor(max_workers=len(tiers)) as pool:
        rendered = {tier: pool.submit(render.render_tier, tier, root) for tier in tiers}
        return [
            size_objects(
                tier, rendered[tier].result(), table["tiers"][tier].get("cost_usd_month"), prices
            )
            for tier in tiers
        ]
