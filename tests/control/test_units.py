"""Units of the dashboard: Prometheus parsing, rates, percentiles, figures, settings, tokens."""

from __future__ import annotations

import asyncio
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from pydantic import ValidationError

from sutra.common.settings import SutraSettings, describe_error, is_secret
from sutra.control.auth import Guard, _decode_protocol, bearer, token_protocol
from sutra.control.collectors import Reading, read_within
from sutra.control.figures import http_traffic
from sutra.control.metrics import ControlMetrics
from sutra.control.origin import same_origin
from sutra.control.scrape import Scrape, bucket_increase, increase, quantile, rate
from sutra.control.settings import ControlSettings

BUCKETS = (0.01, 0.1, 1.0)


class Traffic:
    """A real prometheus_client registry shaped like the services' request metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "svc_requests", "", ["route", "method", "status"], registry=self.registry
        )
        self.duration = Histogram(
            "svc_request_duration_seconds", "", ["route", "method"], buckets=BUCKETS,
            registry=self.registry,
        )  # fmt: skip

    def serve(self, route: str, status: int, seconds: float) -> None:
        self.requests.labels(route, "GET", str(status)).inc()
        self.duration.labels(route, "GET").observe(seconds)

    def scrape(self) -> Scrape:
        return Scrape(generate_latest(self.registry).decode())


def test_scrape_sums_series_and_filters_by_label() -> None:
    traffic = Traffic()
    traffic.serve("/learn", 201, 0.005)
    traffic.serve("/learn", 503, 0.005)
    traffic.serve("/health", 200, 0.001)
    scrape = traffic.scrape()
    assert scrape.total("svc_requests_total") == 3
    assert scrape.total("svc_requests_total", lambda labels: labels["status"] == "503") == 1
    assert scrape.total("no_such_metric_total") is None
    assert scrape.buckets("svc_request_duration_seconds") == {
        0.01: 3, 0.1: 3, 1.0: 3, math.inf: 3
    }  # fmt: skip


def test_scrape_rejects_text_that_is_not_prometheus() -> None:
    with pytest.raises(ValueError):
        Scrape("<html>not metrics</html>\n")


def test_increase_and_rate_treat_a_drop_as_a_restart() -> None:
    assert increase(10, 15) == 5
    assert increase(10, 3) == 3  # restarted from zero, counted 3 since
    assert rate(10, 15, 2.0) == 2.5
    assert rate(None, 15, 2.0) is None
    assert rate(10, 15, 0) is None


def test_quantile_interpolates_inside_the_bucket_like_prometheus() -> None:
    # 10 observations <= 0.1, 10 more <= 1.0: the median is the top of the first bucket,
    # p75 lies half way through the second.
    buckets = {0.1: 10, 1.0: 20, math.inf: 20}
    assert quantile(0.5, buckets) == pytest.approx(0.1)
    assert quantile(0.75, buckets) == pytest.approx(0.55)
    assert quantile(0.25, buckets) == pytest.approx(0.05)
    # Beyond the last finite bound nothing is known: the bound itself.
    assert quantile(0.99, {0.1: 1, 1.0: 1, math.inf: 10}) == 1.0
    assert quantile(0.5, {0.1: 0, math.inf: 0}) is None
    assert quantile(0.5, {}) is None
    with pytest.raises(ValueError):
        quantile(1.5, buckets)


def test_bucket_increase_is_the_window_and_survives_a_reset() -> None:
    before = {0.1: 5, math.inf: 8}
    assert bucket_increase(before, {0.1: 7, math.inf: 12}) == {0.1: 2, math.inf: 4}
    assert bucket_increase(before, {0.1: 1, math.inf: 1}) == {0.1: 1, math.inf: 1}


def test_http_traffic_counts_requests_not_probes_and_takes_percentiles_of_the_window() -> None:
    traffic = Traffic()
    traffic.serve("/learn", 201, 0.5)  # before the window: must not count
    before = traffic.scrape()
    for _ in range(8):
        traffic.serve("/learn", 201, 0.005)
    traffic.serve("/learn", 503, 0.05)
    traffic.serve("/reason", 200, 0.05)
    for _ in range(50):  # the dashboard's own probes
        traffic.serve("/health", 200, 0.5)
        traffic.serve("/metrics", 200, 0.5)
    after = traffic.scrape()
    figures = http_traffic("svc", before, after, seconds=2.0)
    assert figures["request_rate"] == pytest.approx(10 / 2.0)
    assert figures["error_rate"] == pytest.approx(1 / 2.0)
    assert figures["error_ratio"] == pytest.approx(0.1)
    latency = figures["latency_ms"]
    assert latency["p50"] == pytest.approx(10 * (5 / 8))  # 8 of 10 in the first bucket
    assert latency["p50"] < latency["p95"] <= latency["p99"] <= 100
    assert figures["requests_total"] == 11


def test_http_traffic_without_a_previous_scrape_or_requests_is_unknown_not_zero() -> None:
    traffic = Traffic()
    first = traffic.scrape()
    assert http_traffic("svc", None, first, 2.0)["request_rate"] is None
    quiet = http_traffic("svc", first, traffic.scrape(), 2.0)
    assert quiet["request_rate"] == 0
    assert quiet["error_ratio"] is None
    assert quiet["latency_ms"] == {"p50": None, "p95": None, "p99": None}


def test_settings_without_a_token_listen_on_loopback_only(monkeypatch) -> None:
    monkeypatch.setenv("SUTRA_CONTROL_HOST", "0.0.0.0")
    monkeypatch.delenv("SUTRA_CONTROL_TOKEN", raising=False)
    assert ControlSettings().listen_host == "127.0.0.1"
    monkeypatch.setenv("SUTRA_CONTROL_TOKEN", "  ")
    assert ControlSettings().token is None
    monkeypatch.setenv("SUTRA_CONTROL_TOKEN", "a-long-enough-token")
    settings = ControlSettings()
    assert settings.listen_host == "0.0.0.0"
    assert "a-long-enough-token" not in repr(settings)  # a secret, never printed


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("SUTRA_CONTROL_TOKEN", "short", "control_token"),
        ("SUTRA_CONTROL_INTERVAL", "0", "control_interval"),
        ("SUTRA_STORAGE_METRICS_URL", "storage:9091", "storage_metrics_url"),
        ("SUTRA_API_URL", "ftp://x", "api_url"),
    ],
)
def test_settings_reject_bad_values_naming_them(monkeypatch, variable, value, field) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as info:
        ControlSettings()
    assert info.value.errors()[0]["loc"] == (field,)


def describe(monkeypatch, settings_cls: type, variable: str, value: str) -> str:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as info:
        settings_cls()
    return describe_error(settings_cls, info.value)


def test_a_bad_setting_is_named_and_echoed_unless_it_may_be_a_secret(monkeypatch) -> None:
    shown = describe(monkeypatch, ControlSettings, "SUTRA_CONTROL_INTERVAL", "0")
    assert shown.startswith("invalid setting SUTRA_CONTROL_INTERVAL: ")
    assert shown.endswith("(got '0')")
    monkeypatch.delenv("SUTRA_CONTROL_INTERVAL")
    # A SecretStr field: named, never echoed, even a wrong one.
    token = describe(monkeypatch, ControlSettings, "SUTRA_CONTROL_TOKEN", "short-secret")
    assert token.startswith("invalid setting SUTRA_CONTROL_TOKEN: must be at least 16")
    assert "short-secret" not in token
    monkeypatch.delenv("SUTRA_CONTROL_TOKEN")
    # A URL with a password in it, whatever the field is called.
    url = describe(monkeypatch, ControlSettings, "SUTRA_API_URL", "ftp://user:pa55word@host")
    assert url.startswith("invalid setting SUTRA_API_URL: expected an http(s) URL")
    assert "pa55word" not in url
    # A field named like a credential, whatever its type.
    assert is_secret(ControlSettings, "control_token")
    assert not is_secret(ControlSettings, "api_url")

    class Named(SutraSettings):
        registry_password: int = 0

    assert is_secret(Named, "registry_password")
    assert "123x" not in describe(monkeypatch, Named, "SUTRA_REGISTRY_PASSWORD", "123x")


def test_history_keeps_the_configured_minutes() -> None:
    settings = ControlSettings(control_interval=2.0, control_history_seconds=600)
    assert settings.history_points == 300


def test_tokens_are_read_from_the_header_and_the_subprotocol() -> None:
    assert bearer("Bearer abc") == "abc"
    assert bearer("bearer   abc ") == "abc"
    assert bearer("Basic abc") is None
    assert bearer("Bearer ") is None
    assert bearer(None) is None
    token = "tok/en+with=odd chars é"
    entry = token_protocol(token)
    # Header-safe: an RFC 7230 token, as browsers demand of a subprotocol.
    assert all(c.isalnum() or c in "-_." for c in entry)
    assert _decode_protocol(entry) == token
    guard = Guard("right-token-0123456789", ControlMetrics())
    assert guard.accepts("right-token-0123456789")
    assert not guard.accepts("right-token-0123456780")
    assert not guard.accepts("")
    assert not guard.accepts(None)
    assert Guard(None, ControlMetrics()).accepts(None)


def handshake(host: str, origin: str | None, scheme: str = "ws", **extra: str) -> dict:
    headers = {"host": host, **({"origin": origin} if origin is not None else {}), **extra}
    return {
        "type": "websocket",
        "scheme": scheme,
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }


@pytest.mark.parametrize(
    ("host", "origin", "scheme", "extra", "same"),
    [
        ("127.0.0.1:9000", "http://127.0.0.1:9000", "ws", {}, True),
        ("127.0.0.1:9000", None, "ws", {}, True),  # no browser, no Origin
        ("dash.example", "http://dash.example:80", "ws", {}, True),  # default port
        ("dash.example", "https://dash.example", "wss", {}, True),
        ("[::1]:9000", "http://[::1]:9000", "ws", {}, True),
        ("DASH.example", "http://dash.EXAMPLE", "ws", {}, True),  # names are case-blind
        # TLS ended at a proxy that says so: the page's origin is https.
        ("dash.example", "https://dash.example", "ws", {"x-forwarded-proto": "https"}, True),
        ("dash.example", "http://dash.example", "ws", {"x-forwarded-proto": "https"}, False),
        ("127.0.0.1:9000", "http://127.0.0.1:9001", "ws", {}, False),
        ("127.0.0.1:9000", "https://127.0.0.1:9000", "ws", {}, False),
        ("127.0.0.1:9000", "http://localhost:9000", "ws", {}, False),
        ("127.0.0.1:9000", "null", "ws", {}, False),
        ("127.0.0.1:9000", "http://127.0.0.1:9000/page", "ws", {}, False),
        ("", "http://127.0.0.1:9000", "ws", {}, False),
    ],
)
def test_same_origin_means_scheme_host_and_port(host, origin, scheme, extra, same) -> None:
    assert same_origin(handshake(host, origin, scheme, **extra)) is same


class Hanging:
    name, target = "hangs", "nowhere"

    async def read(self) -> Reading:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def close(self) -> None:
        pass


class Broken(Hanging):
    name = "broken"

    async def read(self) -> Reading:
        raise KeyError("a collector bug")


def run(coroutine: Any) -> Any:
    """asyncio.run in a thread of its own: Playwright's sync API may own this thread's loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_a_reading_that_hangs_or_breaks_becomes_a_down_service_with_a_reason() -> None:
    hung = run(read_within(Hanging(), 0.05))
    assert (hung.status, hung.reason) == ("down", "no answer within 0.05 s")
    broken = run(read_within(Broken(), 1.0))
    assert broken.status == "down"
    assert "KeyError" in broken.reason and "a collector bug" in broken.reason
