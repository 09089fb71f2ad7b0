"""A Prometheus text exposition, parsed once, and the arithmetic the dashboard needs from it.

Rates and percentiles are computed between two successive scrapes, the way Prometheus's own
`rate()` and `histogram_quantile()` do it: a counter that went down was reset (the service
restarted), and a percentile is interpolated linearly inside the bucket that holds it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping

from prometheus_client.parser import text_string_to_metric_families

Labels = Mapping[str, str]
Where = Callable[[Labels], bool]


_SUFFIXES = ("_total", "_bucket", "_count", "_sum")


def _any(_: Labels) -> bool:
    return True


class Scrape:
    """The samples of one scrape, by sample name (`..._total`, `..._bucket`, a gauge's name)."""

    def __init__(self, text: str) -> None:
        self.samples: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
        self.families: set[str] = set()
        for family in text_string_to_metric_families(text):
            self.families.add(family.name)
            for sample in family.samples:
                self.samples[sample.name].append((dict(sample.labels), float(sample.value)))

    def declares(self, name: str) -> bool:
        """Whether the metric of sample `name` is exposed (perhaps with no series yet)."""
        base = name
        for suffix in _SUFFIXES:
            base = base.removesuffix(suffix)
        return name in self.samples or name in self.families or base in self.families

    def total(self, name: str, where: Where = _any) -> float | None:
        """The sum of the samples of `name` whose labels pass `where`.

        0 for a labelled metric without series yet (nothing counted), None when the service
        does not expose the metric at all.
        """
        if name not in self.samples:
            return 0.0 if self.declares(name) else None
        return sum(value for labels, value in self.samples[name] if where(labels))

    def buckets(self, name: str, where: Where = _any) -> dict[float, float]:
        """A histogram's cumulative bucket counts, `le` -> count, summed over its series."""
        out: dict[float, float] = defaultdict(float)
        for labels, value in self.samples.get(f"{name}_bucket", []):
            if where(labels) and "le" in labels:
                out[float(labels["le"])] += value
        return dict(out)


def increase(before: float, after: float) -> float:
    """How much a counter grew; a counter that went down restarted from zero."""
    return after if after < before else after - before


def rate(before: float | None, after: float | None, seconds: float) -> float | None:
    """Per-second growth of a counter between two scrapes `seconds` apart."""
    if before is None or after is None or seconds <= 0:
        return None
    return increase(before, after) / seconds


def bucket_increase(
    before: Mapping[float, float], after: Mapping[float, float]
) -> dict[float, float]:
    """The observations that fell in each bucket between two scrapes (cumulative counts).

    When any bucket went down the histogram was reset and `after` is the whole increase.
    """
    if any(after.get(le, 0.0) < count for le, count in before.items()):
        return dict(after)
    return {le: count - before.get(le, 0.0) for le, count in after.items()}


def quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """The q-quantile (0..1) of cumulative `buckets`, as Prometheus's histogram_quantile.

    None without observations. A quantile in the +Inf bucket is the highest finite bound,
    since nothing is known above it.
    """
    if not 0 <= q <= 1:
        raise ValueError(f"quantile must be within 0..1, got {q}")
    ordered = sorted(buckets.items())
    if not ordered or not math.isinf(ordered[-1][0]):
        return None
    total = ordered[-1][1]
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for upper, count in ordered:
        if count >= rank:
            if math.isinf(upper):
                finite = [le for le, _ in ordered if not math.isinf(le)]
                return finite[-1] if finite else None
            inside = count - below
            if inside <= 0:
                return upper
            if upper <= 0:
                return upper
            return lower + (upper - lower) * (rank - below) / inside
        lower, below = upper, count
    return None  # unreachable: the +Inf bucket holds every observation
