"""Reading a Prometheus text exposition (a /metrics page) as Prometheus would.

Shared by the tests that check what the services export: the series names a page makes
Prometheus store, and the value of one sample.
"""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

# The samples each metric type produces (OpenMetrics names, as prometheus_client writes them).
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
    "stateset": ("",),
    "unknown": ("",),
}


def series_names(page: str) -> set[str]:
    """Every series name `page` declares or carries.

    A labelled metric that has seen no event yet (a counter of 429s on a quiet server) is still
    declared by its `# TYPE` line; its series exist in Prometheus as soon as the event happens,
    so an alert on it is valid. Histograms contribute `_bucket`, `_sum` and `_count`.
    """
    names: set[str] = set()
    for family in text_string_to_metric_families(page):
        names.update(family.name + suffix for suffix in SUFFIXES[family.type])
        names.update(sample.name for sample in family.samples)
    return names


def sample_value(page: str, name: str) -> float:
    """The value of the one unlabelled sample `name` on `page`."""
    (value,) = [
        s.value for f in text_string_to_metric_families(page) for s in f.samples if s.name == name
    ]
    return float(value)
