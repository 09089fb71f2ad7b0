"""Generate the tier tables of the documentation from the tier table (and the sizing table
from the rendered tiers and the price table).

README.md and base/README.md show the tiers' numbers in blocks between
`<!-- BEGIN <name> ...-->` and `<!-- END <name> -->` markers; the rest of each document is
hand-written. A document without the block (a copy of the GitOps folders only, with no README or
a stub) has nothing to keep current; tests/tiers checks that this checkout's documents have them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sutra.gitops import generated, sizing, sizing_report, tiers
from sutra.gitops.paths import repo_root

Block = Callable[[Path, dict[str, Any]], str]


def _replicas(row: dict[str, Any] | None) -> str:
    if row is None:
        return "-"
    if "hpa" in row:
        return f"{row['hpa']['min']}-{row['hpa']['max']} (HPA)"
    return str(row.get("replicas", "?"))


def tier_table(root: Path, table: dict[str, Any]) -> str:
    """Per tier: its traffic and each workload's replicas (README.md, block `tiers`)."""
    rows = table["tiers"]
    workloads: list[str] = []
    for row in rows.values():
        workloads += [w for w in row["workloads"] if w not in workloads]
    lines = [
        "| tier | traffic | " + " | ".join(workloads) + " |",
        "|---|---|" + "---|" * len(workloads),
    ]
    for tier, row in rows.items():
        cells = [_replicas(row["workloads"].get(w)) for w in workloads]
        lines.append(f"| {tier} | {row.get('description', '')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _hours(minutes: int) -> str:
    if minutes % 1440 == 0 and minutes >= 2880:
        return f"{minutes // 1440} days"
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


def _schedule(backups: dict[str, Any]) -> str:
    minute, hour = backups["schedule"].split()[:2]
    interval = backups["interval_minutes"]
    if interval == 1440:
        return f"daily {int(hour):02d}:{int(minute):02d}"
    if interval == 60:
        return f"hourly at :{int(minute):02d}"
    return f"every {_hours(interval)} at :{int(minute):02d}"


def backups_table(root: Path, table: dict[str, Any]) -> str:
    """Per tier: the snapshot schedule and retention (base/README.md, block `backups`)."""
    lines = [
        "| tier | schedule (UTC) | kept | history | claim | too old after |",
        "|---|---|---|---|---|---|",
    ]
    for tier, row in table["tiers"].items():
        b = row["backups"]
        history = _hours(b["keep"] * b["interval_minutes"])
        lines.append(
            f"| {tier} | {_schedule(b)} | {b['keep']} | {history} | {b['volume_gi']}Gi "
            f"| {_hours(b['max_age_minutes'])} |"
        )
    return "\n".join(lines)


# document -> (block name, what writes it); more blocks register here.
BLOCKS: dict[str, list[tuple[str, Block]]] = {
    "README.md": [("tiers", tier_table)],
    "base/README.md": [("backups", backups_table), ("sizing", sizing_report.docs_table)],
}
# What the blocks are made from: the tier table, and for `sizing` the overlays and the prices.
SOURCES = f"overlays/, {tiers.TABLE.as_posix()} and {sizing.PRICES.as_posix()}"


def render(root: Path | None = None) -> dict[str, str]:
    """Each document present in the checkout, its blocks as the table makes them now."""
    root = root or repo_root()
    table = tiers.load(root)
    files = {}
    for document, blocks in BLOCKS.items():
        path = root / document
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        present = [(n, b) for n, b in blocks if f"<!-- BEGIN {n} " in text]
        for name, block in present:
            text = generated.replace_block(text, name, block(root, table), document)
        if present:
            files[document] = text
    return files


FILES = generated.FileSet("docs", SOURCES, lambda root: render(root))
