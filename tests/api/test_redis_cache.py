"""The /reason cache in a real Redis: shared by replicas, invalidated by learning, optional,
and keeping stale answers for degraded mode."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import redis

from sutra.api.cache import GENERATION_KEY, KEY_PREFIX, RedisCache
from sutra.storage.testing import ServerProcess

from .support import metric, run_api, run_hybrid, run_redis


def test_redis_cache(storage: ServerProcess, tmp_path: Path) -> None:
    with (
        run_redis(tmp_path) as (redis_process, redis_port),
        run_hybrid(storage.address, tmp_path) as hybrid,
    ):
        env = {"SUTRA_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"}
        with (
            run_api(storage.address, hybrid.url, tmp_path, env=env) as one,
            run_api(storage.address, hybrid.url, tmp_path, env=env) as two,
            httpx.Client(timeout=30) as http,
            redis.Redis(port=redis_port) as store,
        ):
            learned = http.post(f"{one.url}/learn", json={"content": "Volcanoes emit ash."})
            assert learned.status_code == 201, learned.text
            question = {"query": "What do volcanoes emit?"}

            first = http.post(f"{one.url}/reason", json=question)
            assert first.status_code == 200 and first.headers["x-cache"] == "miss"
            assert [k for k in store.keys(f"{KEY_PREFIX}*") if k != GENERATION_KEY.encode()]
            again = http.post(f"{one.url}/reason", json=question)
            assert again.headers["x-cache"] == "hit" and again.json() == first.json()
            # The other replica answers from the same cache.
            other = http.post(f"{two.url}/reason", json=question)
            assert other.headers["x-cache"] == "hit" and other.json() == first.json()
            text = http.get(f"{two.url}/metrics").text
            assert metric(text, "sutra_api_cache_hits_total", backend="redis") == 1

            # A learn through one replica invalidates the answers cached by all of them.
            assert (
                http.post(f"{two.url}/learn", json={"content": "Ash is dust."}).status_code == 201
            )
            assert int(store.get(GENERATION_KEY)) >= 2
            assert http.post(f"{one.url}/reason", json=question).headers["x-cache"] == "miss"

            # Without Redis the request still succeeds; the failure is counted.
            redis_process.kill()
            redis_process.wait()
            reply = http.post(f"{one.url}/reason", json={"query": "What is ash?"})
            assert reply.status_code == 200, reply.text
            assert reply.headers["x-cache"] == "miss"
            text = http.get(f"{one.url}/metrics").text
            assert metric(text, "sutra_api_cache_errors_total", backend="redis", operation="lookup")
            assert http.get(f"{one.url}/ready").status_code == 200  # Redis is not a dependency


def test_redis_keeps_stale_answers_for_degraded_mode(tmp_path: Path) -> None:
    now = [1_000_000.0]
    with run_redis(tmp_path) as (_, redis_port):
        url = f"redis://127.0.0.1:{redis_port}/0"
        cache = RedisCache(
            url, ttl_seconds=10, timeout=1, stale_seconds=100, wall_clock=lambda: now[0]
        )
        never = RedisCache(url, ttl_seconds=10, timeout=1, wall_clock=lambda: now[0])

        async def scenario() -> None:
            _, generation = await cache.lookup("q")
            await cache.store("q", {"answer": "a"}, generation)
            assert (await cache.lookup("q"))[0] == {"answer": "a"}
            now[0] += 10  # past its TTL: no longer fresh, still kept
            assert (await cache.lookup("q"))[0] is None
            assert await cache.stale("q") == {"answer": "a"}
            assert await never.stale("q") is None  # without a stale time, never stale
            _, generation = await cache.lookup("r")
            await cache.store("r", {"answer": "b"}, generation)
            await cache.invalidate()  # a learn
            assert (await cache.lookup("r"))[0] is None
            assert await cache.stale("r") == {"answer": "b"}
            with redis.Redis(port=redis_port) as store:  # Redis drops it after TTL + stale time
                assert 100_000 < store.pttl(f"{KEY_PREFIX}r") <= 110_000
            await cache.close()
            await never.close()

        asyncio.run(scenario())
