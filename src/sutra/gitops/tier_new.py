"""`sutra tiers new NAME --from SOURCE`: add a tier as a copy of another, ready to be edited.

A tier is one row of policies/data/tiers.yaml plus its overlay; everything else that names
tiers is generated. So adding one means: copy the source's row (and its entries in the
per-tier maps and lists of the table: `pods_metrics`, `namespace.outside[].tiers`) under the
new name, after the last tier (the promotion order), copy the source's overlay with its names
changed, and regenerate. The copy runs in no region: `regions:` is not copied, so the new tier
is rendered and checked but deployed nowhere until a region lists it (then `sutra generate`
writes its region overlays and Argo CD clusters). The table is edited as text, so its comments
stay, and the result is parsed back and compared with what was meant before anything is
written.
"""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from sutra.gitops import argocd_files, region_files, shard_files, tier_alerts, tier_docs, tiers

NAME = re.compile(r"^[a-z][a-z0-9-]{0,20}$")
_TOP_LEVEL = re.compile(r"^[A-Za-z_]")


class NewTierRefused(ValueError):
    """The tier cannot be added as asked; one line saying why."""


def _tier_block(lines: list[str]) -> tuple[int, int]:
    """[start, end) of the lines under `tiers:`, ending after its last indented line."""
    start = lines.index("tiers:\n") + 1
    end = start
    for i in range(start, len(lines)):
        if _TOP_LEVEL.match(lines[i]):
            break
        if lines[i].startswith("  ") and not lines[i].lstrip().startswith("#"):
            end = i + 1
    return start, end


def _row(lines: list[str], start: int, end: int, source: str) -> list[str]:
    """The lines of SOURCE's row: from `  source:` to the next row (or the block's end)."""
    first = lines.index(f"  {source}:\n", start, end)
    last = next(
        (i for i in range(first + 1, end) if re.match(r"^  [a-z][\w-]*:\s*$", lines[i])), end
    )
    while lines[last - 1].strip() == "" or lines[last - 1].lstrip().startswith("#"):
        last -= 1  # the comments above the next row belong to it
    return lines[first:last]


def _elsewhere(line: str, source: str, name: str) -> list[str]:
    """A line outside the tier rows, and its copy for NAME when it is a per-tier entry."""
    entry = re.match(rf"^(\s+){re.escape(source)}:(\s*\{{.*\}})\s*$", line)
    if entry:
        return [line, f"{entry.group(1)}{name}:{entry.group(2)}\n"]
    if "tiers: [" in line:

        def add(match: re.Match[str]) -> str:
            items = [i.strip() for i in match.group(1).split(",")]
            return f"tiers: [{', '.join([*items, name])}]" if source in items else match.group(0)

        return [re.sub(r"tiers: \[([^\]]*)\]", add, line)]
    return [line]


def _copied(lines: list[str], source: str, name: str) -> list[str]:
    """LINES with the per-tier entries of SOURCE copied for NAME, except under `regions:` (a
    region opts into a tier by an edit of its own)."""
    out, section = [], ""
    for line in lines:
        if _TOP_LEVEL.match(line):
            section = line.split(":", 1)[0]
        out += [line] if section == "regions" else _elsewhere(line, source, name)
    return out


def table_text(text: str, source: str, name: str) -> str:
    """The table's text with NAME added as a copy of SOURCE, after the last tier."""
    lines = text.splitlines(keepends=True)
    start, end = _tier_block(lines)
    row = _row(lines, start, end, source)
    new_row = [f"  {name}:\n", *row[1:]]
    out = _copied(lines[:start], source, name)
    out += lines[start:end] + new_row
    out += _copied(lines[end:], source, name)
    return "".join(out)


def _expected(table: dict[str, Any], source: str, name: str) -> dict[str, Any]:
    """The table as the copy must parse: the row and every per-tier entry of SOURCE copied."""
    want = copy.deepcopy(table)
    want["tiers"][name] = copy.deepcopy(table["tiers"][source])
    for hpa in (want.get("hpa") or {}).values():
        per_tier = hpa.get("pods_metrics") or {}
        if source in per_tier:
            per_tier[name] = copy.deepcopy(per_tier[source])
    for entry in (want.get("namespace") or {}).get("outside") or []:
        if source in entry.get("tiers", []):
            entry["tiers"].append(name)
    return want


def _overlay_text(text: str, source: str, name: str) -> str:
    """An overlay file of SOURCE for NAME: its names, and the tier named in its comments."""
    out = []
    for line in text.splitlines(keepends=True):
        line = line.replace(f"sutra-{source}", f"sutra-{name}")
        if line.lstrip().startswith("#"):
            line = re.sub(rf"\b{re.escape(source)}\b", name, line)
        out.append(line)
    return "".join(out)


def new_tier(root: Path, name: str, source: str) -> list[str]:
    """Add tier NAME as a copy of SOURCE in the checkout at ROOT: what was written."""
    table = tiers.load(root)
    if not NAME.match(name):
        raise NewTierRefused(f"tier name {name!r}: lower-case letters, digits and '-'")
    if name in table["tiers"] or (root / "overlays" / name).exists():
        raise NewTierRefused(f"tier {name} exists already")
    if source not in table["tiers"] or not (root / "overlays" / source).is_dir():
        raise NewTierRefused(f"no tier {source} to copy (choose from {', '.join(table['tiers'])})")
    path = root / tiers.TABLE
    text = table_text(path.read_text(encoding="utf-8"), source, name)
    if yaml.safe_load(text) != _expected(table, source, name):
        raise NewTierRefused(f"{tiers.TABLE}: cannot copy row {source} as text; add {name} by hand")
    path.write_text(text, encoding="utf-8")
    written = [f"wrote {tiers.TABLE.as_posix()}"]
    target = root / "overlays" / name
    shutil.copytree(root / "overlays" / source, target)
    for file in sorted(target.iterdir()):
        if file.name == tier_alerts.FILE_NAME:
            file.unlink()
        elif file.is_file():
            file.write_text(_overlay_text(file.read_text(encoding="utf-8"), source, name))
    written.append(f"wrote overlays/{name}/ (from overlays/{source}/)")
    generators = (tier_alerts, shard_files, argocd_files, region_files, tier_docs)
    for files in (generator.FILES for generator in generators):
        written += files.write(root)
    return written
