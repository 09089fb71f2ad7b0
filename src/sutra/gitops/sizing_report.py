"""The sizing report as text (`sutra tiers report`), JSON (`--json`) and a docs block.

The numbers come from `sutra.gitops.sizing`; this module only lays them out, so the command,
scripts and base/README.md ("Size and cost") always show the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sutra.gitops import sizing
from sutra.gitops.quantities import format_cpu, format_memory
from sutra.gitops.sizing import GIB, SCALES, TierSize, Volume, WorkloadSize
from sutra.gitops.workloads import Scale

PRICED_ON = (
    "monthly cost priced on requests (not limits) and claimed volumes, with the unit prices of "
    f"{sizing.PRICES.as_posix()}: an ESTIMATE from list prices, not a quote"
)


def usd(amount: Decimal) -> str:
    """Whole dollars, as the tier table's ranges are given."""
    return f"${amount.quantize(Decimal(1), ROUND_HALF_UP):,}"


def _cents(amount: Decimal) -> float:
    return float(amount.quantize(Decimal("0.01"), ROUND_HALF_UP))


def _gib(size: Decimal) -> float:
    return float((size / GIB).quantize(Decimal("0.001"), ROUND_HALF_UP))


def _span(low: str, high: str) -> str:
    return low if low == high else f"{low}-{high}"


def _pods(w: WorkloadSize) -> str:
    return _span(str(w.workload.min_replicas), str(w.workload.max_replicas))


def _amounts(pair: tuple[Decimal, Decimal]) -> str:
    return f"{format_cpu(pair[0])}, {format_memory(pair[1])}"


def _volumes(volumes: Sequence[Volume]) -> str:
    return ", ".join(f"{v.name} {format_memory(v.size)}" for v in volumes) or "-"


def _budget(size: TierSize) -> str:
    if not size.budget:
        return "no range in the tier table"
    return f"{usd(Decimal(size.budget['min']))}-{usd(Decimal(size.budget['max']))}"


def _workload_rows(size: TierSize) -> list[list[str]]:
    rows = []
    for w in size.workloads:
        rows.append(
            [w.workload.name, _pods(w)]
            + [_amounts(w.resources(k, s)) for k in ("requests", "limits") for s in SCALES]
            + [_volumes(w.volumes) + (" per pod" if w.volumes else "")]
            + [_span(usd(w.cost(size.prices, "min")), usd(w.cost(size.prices, "max")))]
        )
    for claim in size.claims:
        cost = usd(size.prices.volume(claim.size))
        rows.append([f"PVC {claim.name}", "-", "", "", "", "", _volumes([claim]), cost])
    return rows


def _total_row(size: TierSize) -> list[str]:
    pods = [str(sum(w.workload.replicas(s) for w in size.workloads)) for s in SCALES]
    storage = [format_memory(size.storage(s)) for s in SCALES]
    costs = [usd(size.cost(s)) for s in SCALES]
    resources = [_amounts(size.resources(k, s)) for k in ("requests", "limits") for s in SCALES]
    return ["total", _span(*pods), *resources, _span(*storage), _span(*costs)]


def tier_lines(size: TierSize) -> list[str]:
    """One tier: a row per workload (and stand-alone claim), totals, estimate against range."""
    head = ["workload", "pods", "requests min", "requests max", "limits min", "limits max"]
    rows = [[*head, "volumes", "cost/month"], *_workload_rows(size), _total_row(size)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [f"{size.tier}: cost range {_budget(size)} a month"]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        lines.append(("  " + "  ".join(cells)).rstrip())
    lines.append(
        f"  estimate at minimum {usd(size.cost('min'))} ({size.comparison('min')}), "
        f"at maximum {usd(size.cost('max'))} ({size.comparison('max')})"
    )
    return lines


def text(sizes: Sequence[TierSize]) -> list[str]:
    """The whole report: every tier, then how it was priced."""
    lines: list[str] = []
    for size in sizes:
        lines += [*tier_lines(size), ""]
    return [*lines, PRICED_ON]


def _resources_json(pair: tuple[Decimal, Decimal]) -> dict[str, float]:
    return {"cpu": float(pair[0]), "memory_gib": _gib(pair[1])}


def _per_scale(value: Any) -> dict[str, Any]:
    return {scale: value(scale) for scale in SCALES}


def _workload_json(w: WorkloadSize, size: TierSize) -> dict[str, Any]:
    volumes = [{"name": v.name, "size_gib": _gib(v.size), "per_replica": True} for v in w.volumes]
    return {
        "name": w.workload.name,
        "kind": w.workload.kind,
        "autoscaled": w.workload.autoscaled,
        "replicas": {"min": w.workload.min_replicas, "max": w.workload.max_replicas},
        "requests": _per_scale(lambda s: _resources_json(w.resources("requests", s))),
        "limits": _per_scale(lambda s: _resources_json(w.resources("limits", s))),
        "volumes": volumes,
        "storage_gib": _per_scale(lambda s: _gib(w.storage(s))),
        "cost_usd_month": _per_scale(lambda s: _cents(w.cost(size.prices, s))),
    }


def tier_json(size: TierSize) -> dict[str, Any]:
    """One tier for scripts: numbers in cores, GiB and USD a month."""
    return {
        "tier": size.tier,
        "cost_range_usd_month": size.budget,
        "workloads": [_workload_json(w, size) for w in size.workloads],
        "claims": [{"name": c.name, "size_gib": _gib(c.size)} for c in size.claims],
        "requests": _per_scale(lambda s: _resources_json(size.resources("requests", s))),
        "limits": _per_scale(lambda s: _resources_json(size.resources("limits", s))),
        "storage_gib": _per_scale(lambda s: _gib(size.storage(s))),
        "cost_usd_month": _per_scale(lambda s: _cents(size.cost(s))),
        "comparison": _per_scale(size.comparison),
    }


def as_json(sizes: Sequence[TierSize]) -> dict[str, Any]:
    """The report for `--json`: the prices used and every tier."""
    prices = sizes[0].prices if sizes else sizing.load_prices()
    return {
        "priced_on": "requests",
        "prices": {f: float(getattr(prices, f)) for f in sizing.Prices.__dataclass_fields__},
        "tiers": [tier_json(size) for size in sizes],
    }


def _scale_cell(size: TierSize, scale: Scale) -> str:
    pods = sum(w.workload.replicas(scale) for w in size.workloads)
    return (
        f"{pods} pods, {_amounts(size.resources('requests', scale))}: "
        f"{usd(size.cost(scale))} ({size.comparison(scale)})"
    )


def docs_table(root: Path, table: dict[str, Any]) -> str:
    """Per tier: requests and estimate at minimum and maximum scale, volumes, the table's range
    (base/README.md, block `sizing`)."""
    lines = [
        "| tier | cost range a month | at minimum scale | at maximum scale | volumes |",
        "|---|---|---|---|---|",
    ]
    for size in sizing.size_tiers(list(table["tiers"]), root):
        volumes = [v for w in size.workloads for v in w.volumes] + list(size.claims)
        lines.append(
            f"| {size.tier} | {_budget(size)} | {_scale_cell(size, 'min')} "
            f"| {_scale_cell(size, 'max')} | {_volumes(volumes)} |"
        )
    return "\n".join(lines)
