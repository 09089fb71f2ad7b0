"""The dashboard survives dead services, and guards itself when no token is configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from sutra.common.testing import dead_url, run_http_service
from sutra.storage.testing import free_port, run_server

from .support import TOKEN, next_push, push_until, run_control, websocket


def test_a_dead_service_turns_red_with_its_reason_and_the_pushes_keep_coming(
    tmp_path: Path,
) -> None:
    storage_port, metrics_port = free_port(), free_port()
    hybrid_port = free_port()
    hybrid_env = {
        "SUTRA_HYBRID_HOST": "127.0.0.1",
        "SUTRA_HYBRID_PORT": str(hybrid_port),
        "SUTRA_STORAGE_SERVER": f"127.0.0.1:{storage_port}",
        "SUTRA_HYBRID_READY_TIMEOUT": "0.3",
    }
    control_env = {
        "SUTRA_CONTROL_TOKEN": TOKEN,
        "SUTRA_STORAGE_SERVER": f"127.0.0.1:{storage_port}",
        "SUTRA_STORAGE_METRICS_URL": f"http://127.0.0.1:{metrics_port}/metrics",
        "SUTRA_HYBRID_URL": f"http://127.0.0.1:{hybrid_port}",
        "SUTRA_API_URL": dead_url(),  # never started: down from the first round
    }
    data = tmp_path / "data"
    with (
        run_server(data, port=storage_port, metrics_port=metrics_port) as storage,
        run_http_service(
            "sutra.hybrid", env=hybrid_env, port=hybrid_port, log_path=tmp_path / "hybrid.log"
        ),
        run_control(control_env, tmp_path) as control,
        websocket(control.url) as ws,
    ):
        first = push_until(
            ws,
            lambda p: p["health"]["sutra-hybrid"]["status"] == "up",
            timeout=10,
            what="hybrid up",
        )
        assert first["health"]["storage-server"]["status"] == "up"
        api = first["health"]["sutra-api"]
        assert (api["status"], api["live"]) == ("down", False)
        assert "cannot connect" in api["reason"]
        assert first["metrics"]["api"]["request_rate"] is None  # unknown, not zero

        storage.kill()  # SIGKILL: no goodbye
        down = push_until(
            ws,
            lambda p: p["health"]["storage-server"]["status"] == "down",
            timeout=10,
            what="storage down",
        )
        assert down["health"]["storage-server"]["reason"]
        assert down["metrics"]["storage"]["concepts"] is None
        # Hybrid still answers, but is not ready without its store: amber, with hybrid's words.
        hybrid = push_until(
            ws,
            lambda p: p["health"]["sutra-hybrid"]["status"] == "degraded",
            timeout=10,
            what="hybrid degraded",
        )["health"]["sutra-hybrid"]
        assert "storage" in hybrid["reason"]
        stamps = [next_push(ws)["timestamp"] for _ in range(3)]
        assert stamps == sorted(stamps) and len(set(stamps)) == 3  # still updating

        with run_server(data, port=storage_port, metrics_port=metrics_port):
            back = push_until(
                ws,
                lambda p: p["health"]["storage-server"]["status"] == "up",
                timeout=20,
                what="storage up again",
            )
            assert back["health"]["storage-server"]["reason"] is None
            assert back["metrics"]["storage"]["concepts"] == 0
        assert control.process.poll() is None


def listening_addresses(port: int) -> set[str]:
    """Local IPv4 addresses listening on `port`, from the kernel's own table."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, _, hex_port = local.partition(":")
        if state == "0A" and int(hex_port, 16) == port:
            octets = [str(int(address[i : i + 2], 16)) for i in range(6, -1, -2)]
            found.add(".".join(octets))
    return found


def test_without_a_token_it_listens_on_loopback_only_and_says_so(tmp_path: Path) -> None:
    env = {
        "SUTRA_CONTROL_HOST": "0.0.0.0",
        "SUTRA_CONTROL_TOKEN": "",
        "SUTRA_STORAGE_SERVER": f"127.0.0.1:{free_port()}",
        "SUTRA_STORAGE_METRICS_URL": dead_url() + "/metrics",
        "SUTRA_HYBRID_URL": dead_url(),
        "SUTRA_API_URL": dead_url(),
    }
    with run_control(env, tmp_path) as control:
        assert listening_addresses(control.port) == {"127.0.0.1"}
        warnings = [line for line in control.log().splitlines() if '"level":"warning"' in line]
        assert len(warnings) == 1 and "no SUTRA_CONTROL_TOKEN set" in warnings[0]
        assert httpx.get(control.url + "/api/auth").json()["token_required"] is False
        services = httpx.get(control.url + "/api/services").json()["services"]
        assert {s["name"]: s["status"] for s in services} == {
            "storage-server": "down", "sutra-hybrid": "down", "sutra-api": "down",
        }  # fmt: skip
        assert all(s["reason"] for s in services)
        with websocket(control.url, token=None) as ws:
            assert set(next_push(ws)) == {"health", "metrics", "timestamp", "interval"}


def test_a_token_lets_it_listen_where_it_is_told(tmp_path: Path) -> None:
    env = {
        "SUTRA_CONTROL_TOKEN": TOKEN,
        "SUTRA_STORAGE_METRICS_URL": dead_url() + "/metrics",
        "SUTRA_STORAGE_SERVER": f"127.0.0.1:{free_port()}",
        "SUTRA_HYBRID_URL": dead_url(),
        "SUTRA_API_URL": dead_url(),
    }
    with run_control({**env, "SUTRA_CONTROL_HOST": "0.0.0.0"}, tmp_path) as control:
        assert listening_addresses(control.port) == {"0.0.0.0"}
        assert '"level":"warning"' not in control.log()


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SUTRA_CONTROL_TOKEN", "too-short"), ("SUTRA_CONTROL_INTERVAL", "0")],
)
def test_a_bad_setting_stops_it_with_one_line(variable: str, value: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sutra.control"],
        env={k: v for k, v in os.environ.items() if not k.startswith("SUTRA_")} | {variable: value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"sutra-control: invalid setting {variable}")
    if variable == "SUTRA_CONTROL_TOKEN":
        assert value not in lines[0]  # a secret is never echoed, even a wrong one
