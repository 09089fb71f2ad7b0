"""Shared pieces of the benchmarks: result rows, the table, the machine, waiting for idle."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sutra.storage.vectors import available_cpus


@dataclass
class Row:
    """One measured figure next to the baseline measured in the same run."""

    measure: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.4f}"


def table(title: str, rows: list[Row]) -> str:
    header = ["measure", "result", "baseline (same run)", "ratio", "target", "met", "notes"]
    body = []
    for row in rows:
        baseline = f"{fmt(row.baseline)} {row.unit}".strip() if row.baseline is not None else "-"
        if row.baseline_name:
            baseline = f"{baseline} ({row.baseline_name})"
        ratio = f"{row.ratio:.1f}x" if row.ratio is not None else "-"
        met = {True: "yes", False: "NO", None: "-"}[row.met]
        body.append(
            [
                row.measure,
                f"{fmt(row.value)} {row.unit}",
                baseline,
                ratio,
                row.target,
                met,
                row.note,
            ]
        )
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = [f"== {title}", "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in body]
    return "\n".join(line.rstrip() for line in lines)


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            model = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{available_cpus()} CPUs ({model}), {memory:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def process_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(pid: int, *, below: float = 0.05, settle: int = 3, timeout: float = 600) -> float:
    """Wait until a process has used under `below` of a CPU for `settle` seconds in a row.

    The storage server moves new vectors into its HNSW in the background; searching
    before that finishes measures the pending-buffer scan instead of the HNSW.
    Returns the seconds waited.
    """
    started = time.monotonic()
    quiet, last = 0, process_cpu_seconds(pid)
    while quiet < settle and time.monotonic() - started < timeout:
        time.sleep(1.0)
        now = process_cpu_seconds(pid)
        quiet = quiet + 1 if now - last < below else 0
        last = now
    return time.monotonic() - started


def percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]
