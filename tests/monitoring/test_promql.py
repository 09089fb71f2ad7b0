"""The PromQL metric-name extractor the alert checks rely on."""

from __future__ import annotations

import re

import pytest

from sutra.common.exposition import series_names

from .promql import PromQLError, metric_names


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("up == 0", {"up"}),
        ('up{namespace="sutra-ai"} == 0', {"up"}),
        (
            'histogram_quantile(0.95, sum by (le) (rate(lat_seconds_bucket{route!~"/health"}[5m])))'
            " > 0.5",
            {"lat_seconds_bucket"},
        ),
        (
            'sum(rate(req_total{status=~"5..", note="a{b}c"}[5m])) by (route)'
            " / ignoring(status) group_left sum without (pod) (rate(other_total[5m] offset 1h))",
            {"req_total", "other_total"},
        ),
        ('{__name__="by_name", job="x"} > 1', {"by_name"}),
        ("time() - max_over_time(snap_ts[26h]) > 26 * 3600", {"snap_ts"}),
        ("max_over_time(rate(a_total[5m])[1h:30s]) > 1e3", {"a_total"}),
        (
            'count_values("version", build_info) + on(instance) group_right(job) b @ start()',
            {"build_info", "b"},
        ),
        ('label_replace(x, "dst", "$1", \'src\', `(.*)`) and bool y unless z', {"x", "y", "z"}),
        ("recorded:rate5m > 0 or vector(0)", {"recorded:rate5m"}),
        ("topk(3, sum by (pod) (queue_depth)) # the busiest", {"queue_depth"}),
    ],
)
def test_metric_names(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("ratee(x_total[5m]) > 0", "unknown function ratee()"),
        ("sum(rate(x_total[5m]) > 0", "unclosed '('"),
        ('x_total{a="b"]', "unbalanced ']'"),
        ("x_total $ 2", "unexpected '$'"),
    ],
)
def test_unreadable_expressions_are_errors(expr: str, message: str) -> None:
    with pytest.raises(PromQLError, match=re.escape(message)):
        metric_names(expr)


def test_series_names_expand_each_declared_type() -> None:
    page = "\n".join(
        [
            "# HELP quiet_total Never incremented.",
            "# TYPE quiet_total counter",
            "# HELP lat_seconds Latency.",
            "# TYPE lat_seconds histogram",
            'lat_seconds_bucket{le="0.5"} 1.0',
            'lat_seconds_bucket{le="+Inf"} 1.0',
            "lat_seconds_count 1.0",
            "lat_seconds_sum 0.2",
            "# HELP depth Waiting.",
            "# TYPE depth gauge",
            "depth 3.0",
            "",
        ]
    )
    names = series_names(page)
    assert {"quiet_total", "lat_seconds_bucket", "lat_seconds_sum", "lat_seconds_count"} <= names
    assert "depth" in names
    assert not {"quiet", "lat_seconds", "depth_total"} & names
