"""The Redis of the medium and high tiers, run as their Deployment runs it, serving the API.

redis-server gets exactly the command and arguments of the rendered Deployment (plus a free
port and a loopback bind, as no pod network exists here); the API gets the SUTRA_REDIS_URL of
its rendered Deployment with the Service name resolved to 127.0.0.1 and that port.
"""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import redis

from sutra.api.cache import GENERATION_KEY, KEY_PREFIX
from sutra.api.settings import ApiSettings
from sutra.storage.testing import ServerProcess

from .support import run_api, run_hybrid, run_redis

REPO = Path(__file__).resolve().parents[2]
CACHED_TIERS = ("medium", "high")


def _container(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (deployment,) = [
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == name
    ]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


@pytest.fixture(scope="module")
def tiers(tier_objects: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The session's one render of each tier (tests/conftest.py)."""
    return tier_objects


def run_deployed_redis(
    container: dict[str, Any], log_dir: Path
) -> contextlib.AbstractContextManager[tuple[subprocess.Popen[bytes], int]]:
    """redis-server with the container's command and args, on a free loopback port, in
    `log_dir` (the image's /data: nothing may be written there)."""
    command = [*container["command"], *container["args"]]
    assert command[0] == "redis-server"
    return run_redis(log_dir, command[1:])


def _probe(container: dict[str, Any], port: int) -> subprocess.CompletedProcess[str]:
    """The readiness probe's command, pointed at `port`."""
    command = list(container["readinessProbe"]["exec"]["command"])
    command[command.index("-p") + 1] = str(port)
    return subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)


@pytest.mark.parametrize("tier", CACHED_TIERS)
def test_deployed_arguments_take_effect(tiers, tier: str, tmp_path: Path) -> None:
    container = _container(tiers[tier], "sutra-redis")
    args = container["args"]
    maxmemory = args[args.index("--maxmemory") + 1]
    assert maxmemory.endswith("mb")
    with run_deployed_redis(container, tmp_path) as (_, port), redis.Redis(port=port) as r:
        keys = ("save", "appendonly", "maxmemory", "maxmemory-policy", "protected-mode")
        config = {k: v for key in keys for k, v in r.config_get(key).items()}
        assert config == {
            "save": "",
            "appendonly": "no",
            "maxmemory": str(int(maxmemory[:-2]) * 1024 * 1024),
            "maxmemory-policy": "volatile-lru",
            "protected-mode": "no",
        }
        # Nothing reaches the disk: no RDB save happens on shutdown either.
        r.set("k", "v")
        assert _probe(container, port).stdout.strip() == "PONG"
        assert _probe(container, port).returncode == 0
    assert list(tmp_path.glob("*.rdb")) == [] and list(tmp_path.glob("appendonly*")) == []
    # The probe fails once the server is gone.
    assert _probe(container, port).returncode != 0


def test_eviction_keeps_the_generation_key(tiers, tmp_path: Path) -> None:
    """Under memory pressure cached answers go, the generation key (no TTL) stays: losing it
    would serve answers cached before a learn. The limit is lowered at run time to fill it
    quickly; the eviction policy is the Deployment's."""
    container = _container(tiers["medium"], "sutra-redis")
    with run_deployed_redis(container, tmp_path) as (_, port), redis.Redis(port=port) as r:
        r.config_set("maxmemory", 2 * 1024 * 1024)
        r.incr(GENERATION_KEY)
        payload = "x" * 4096
        with r.pipeline(transaction=False) as pipe:
            for i in range(2000):  # 8 MB of answers into 2 MB
                pipe.set(f"{KEY_PREFIX}{i:064x}", payload, px=600_000)
            pipe.execute()
        assert r.info("stats")["evicted_keys"] > 1000
        assert r.get(GENERATION_KEY) == b"1"


def test_the_api_caches_in_the_deployed_redis(
    tiers, storage: ServerProcess, tmp_path: Path
) -> None:
    objects = tiers["medium"]
    url = next(e["value"] for e in _container(objects, "sutra-api")["env"]
               if e["name"] == "SUTRA_REDIS_URL")  # fmt: skip
    assert ApiSettings(redis_url=url).redis_url == url
    parts = urlsplit(url)
    (service,) = [
        o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == parts.hostname
    ]
    assert parts.port in {p["port"] for p in service["spec"]["ports"]}
    with (
        run_deployed_redis(_container(objects, "sutra-redis"), tmp_path) as (_, port),
        run_hybrid(storage.address, tmp_path) as hybrid,
    ):
        local = parts._replace(netloc=f"127.0.0.1:{port}").geturl()
        env = {"SUTRA_REDIS_URL": local}
        with (
            run_api(storage.address, hybrid.url, tmp_path, env=env) as api,
            httpx.Client(timeout=30) as http,
            redis.Redis(port=port) as store,
        ):
            learned = http.post(f"{api.url}/learn", json={"content": "Glaciers carve valleys."})
            assert learned.status_code == 201, learned.text
            question = {"query": "What do glaciers carve?"}
            first = http.post(f"{api.url}/reason", json=question)
            assert first.status_code == 200 and first.headers["x-cache"] == "miss"
            again = http.post(f"{api.url}/reason", json=question)
            assert again.headers["x-cache"] == "hit" and again.json() == first.json()
            cached = [k for k in store.keys(f"{KEY_PREFIX}*") if k != GENERATION_KEY.encode()]
            assert cached and all(store.pttl(k) > 0 for k in cached)  # evictable: volatile-lru
            assert store.ttl(GENERATION_KEY) == -1
