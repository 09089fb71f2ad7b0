"""The dashboard's figures, computed from two successive rounds of readings.

Counters become per-second rates over the interval between the rounds and histograms become
latency percentiles of the requests answered in that interval, so a figure is `None` (shown
as a dash) until two rounds exist or when nothing happened, never a made-up zero.

Requests to the operations endpoints (`/health`, `/ready`, `/metrics`, `/ping`) are not
traffic: the dashboard's own probes would otherwise show up as load.
"""

from __future__ import annotations

from typing import Any

from sutra.control.collectors import Reading
from sutra.control.scrape import Labels, Scrape, bucket_increase, quantile, rate

OPERATIONS = frozenset({"/health", "/ready", "/metrics", "/ping"})
PERCENTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))


def _traffic(labels: Labels) -> bool:
    return labels.get("route") not in OPERATIONS


def _server_error(labels: Labels) -> bool:
    return _traffic(labels) and labels.get("status", "").startswith("5")


def _ratio(part: float | None, whole: float | None) -> float | None:
    if part is None or whole is None or whole <= 0:
        return None
    return part / whole


def http_traffic(prefix: str, before: Scrape | None, after: Scrape | None, seconds: float) -> dict:
    """Request rate, 5xx rate and share, and latency percentiles (ms) of `<prefix>_requests`."""
    out: dict[str, Any] = {
        "request_rate": None,
        "error_rate": None,
        "error_ratio": None,
        "latency_ms": {name: None for name, _ in PERCENTILES},
        "requests_total": None,
    }
    if after is None:
        return out
    requests, duration = f"{prefix}_requests_total", f"{prefix}_request_duration_seconds"
    out["requests_total"] = after.total(requests, _traffic)
    if before is None:
        return out
    request_rate = rate(before.total(requests, _traffic), after.total(requests, _traffic), seconds)
    error_rate = rate(
        before.total(requests, _server_error), after.total(requests, _server_error), seconds
    )
    out["request_rate"] = request_rate
    out["error_rate"] = error_rate
    out["error_ratio"] = _ratio(error_rate, request_rate)
    window = bucket_increase(before.buckets(duration, _traffic), after.buckets(duration, _traffic))
    for name, q in PERCENTILES:
        value = quantile(q, window)
        out["latency_ms"][name] = None if value is None else value * 1000
    return out


def _cumulative_ratio(scrape: Scrape | None, hits: str, misses: str) -> float | None:
    if scrape is None:
        return None
    hit, miss = scrape.total(hits), scrape.total(misses)
    if hit is None or miss is None:
        return None
    return _ratio(hit, hit + miss)


def storage_figures(before: Reading | None, after: Reading, seconds: float) -> dict[str, Any]:
    """Sizes from GetStats; write rate, queue depth and commit latency from /metrics."""
    stats, scrape = after.stats, after.scrape
    previous = before.scrape if before is not None and before.live else None
    out: dict[str, Any] = {
        key: None
        for key in (
            "concepts",
            "associations",
            "vectors",
            "store_bytes",
            "sequence",
            "uptime_seconds",
            "last_snapshot_time",
            "queue_depth",
            "write_rate",
            "commit_p95_ms",
            "rejected_writes",
        )
    }
    if stats is not None:
        out.update(
            concepts=stats.concepts,
            associations=stats.associations,
            vectors=stats.vectors,
            store_bytes=stats.store_bytes,
            sequence=stats.sequence,
            uptime_seconds=stats.uptime_seconds,
            last_snapshot_time=stats.last_snapshot_time or None,
            queue_depth=stats.pending,
            rejected_writes=stats.rejected,
        )
    if scrape is not None:
        depth = scrape.total("sutra_storage_queue_depth")
        if depth is not None:
            out["queue_depth"] = depth
        snapshot = scrape.total("sutra_storage_last_snapshot_timestamp_seconds")
        if snapshot and not out["last_snapshot_time"]:
            out["last_snapshot_time"] = snapshot
        if previous is not None:
            out["write_rate"] = rate(
                previous.total("sutra_storage_writes_total"),
                scrape.total("sutra_storage_writes_total"),
                seconds,
            )
            p95 = quantile(
                0.95,
                bucket_increase(
                    previous.buckets("sutra_storage_commit_seconds"),
                    scrape.buckets("sutra_storage_commit_seconds"),
                ),
            )
            out["commit_p95_ms"] = None if p95 is None else p95 * 1000
    elif before is not None and before.stats is not None and stats is not None:
        out["write_rate"] = rate(before.stats.writes, stats.writes, seconds)
    return out


def api_figures(before: Reading | None, after: Reading, seconds: float) -> dict[str, Any]:
    previous = before.scrape if before is not None and before.live else None
    out = http_traffic("sutra_api", previous, after.scrape, seconds)
    scrape = after.scrape
    out["cache_hit_ratio"] = _cumulative_ratio(
        scrape, "sutra_api_cache_hits_total", "sutra_api_cache_misses_total"
    )
    out["open_circuits"] = (
        sorted(
            labels.get("dependency", "?")
            for labels, value in scrape.samples.get("sutra_api_circuit_open", [])
            if value >= 1
        )
        if scrape is not None
        else None
    )
    return out


def hybrid_figures(before: Reading | None, after: Reading, seconds: float) -> dict[str, Any]:
    previous = before.scrape if before is not None and before.live else None
    out = http_traffic("sutra_hybrid", previous, after.scrape, seconds)
    scrape = after.scrape
    out["queue_depth"] = scrape.total("sutra_hybrid_embed_queue_depth") if scrape else None
    out["cache_hit_ratio"] = _cumulative_ratio(
        scrape,
        "sutra_hybrid_embedding_cache_hits_total",
        "sutra_hybrid_embedding_cache_misses_total",
    )
    out["cache_entries"] = scrape.total("sutra_hybrid_embedding_cache_entries") if scrape else None
    return out


FIGURES = {
    "storage-server": ("storage", storage_figures),
    "sutra-api": ("api", api_figures),
    "sutra-hybrid": ("hybrid", hybrid_figures),
}


def health_entry(reading: Reading) -> dict[str, Any]:
    return {
        "status": reading.status,
        "live": reading.live,
        "ready": reading.ready,
        "reason": reading.reason,
        "latency_ms": reading.latency_ms,
        "target": reading.target,
    }


def figures(
    before: dict[str, Reading] | None, after: dict[str, Reading], seconds: float
) -> dict[str, dict[str, Any]]:
    """Every service's figures, keyed `storage`, `api`, `hybrid`."""
    out: dict[str, dict[str, Any]] = {}
    for name, reading in after.items():
        if name in FIGURES:
            key, compute = FIGURES[name]
            out[key] = compute((before or {}).get(name), reading, seconds)
    return out
