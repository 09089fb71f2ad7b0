"""Bulk ingest (POST /learn/jobs) against real processes: storage, hybrid, api, Redis.

A job learns every good line, reports every bad one by its line number, and survives a
SIGKILL of the api mid-job: restarted on its jobs directory, or taken over by another pod
through Redis, it finishes with every line's concept in the store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sutra.common.testing import (
    HttpService,
    free_port,
    poll,
    run_http_service,
    start_http_service,
)
from sutra.storage.ids import concept_id_for
from sutra.storage.testing import ServerProcess

from .support import NO_LIMITS, assert_error, frozen, metric, run_api, run_hybrid, run_redis

NDJSON = {"content-type": "application/x-ndjson"}
FINISHED = ("done", "failed", "cancelled")


def facts(prefix: str, count: int) -> list[str]:
    return [f"{prefix} {i} keeps the key of locker {prefix.lower()}{i}." for i in range(count)]


def ndjson(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def upload_of(contents: list[str]) -> bytes:
    return ndjson([json.dumps({"content": c}) for c in contents])


def report(http: httpx.Client, api: str, job_id: str) -> dict[str, Any]:
    reply = http.get(f"{api}/learn/jobs/{job_id}")
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def finished(http: httpx.Client, api: str, job_id: str, seen: list[int] | None = None) -> Any:
    def check() -> dict[str, Any] | None:
        job = report(http, api, job_id)
        if seen is not None:
            seen.append(job["lines_done"])
        return job if job["state"] in FINISHED else None

    return poll(check, timeout=120, interval=0.1, what=f"job {job_id} finished")


def submit(http: httpx.Client, api: str, body: bytes) -> str:
    reply = http.post(f"{api}/learn/jobs", content=body, headers=NDJSON)
    assert reply.status_code == 202, reply.text
    job_id = reply.json()["id"]
    assert reply.headers["location"] == f"/learn/jobs/{job_id}" == reply.json()["location"]
    return str(job_id)


def missing_concepts(http: httpx.Client, api: str, contents: list[str]) -> list[str]:
    """The contents whose concept GET /concepts/{id} does not find."""
    return [
        c for c in contents if http.get(f"{api}/concepts/{concept_id_for(c)}").status_code != 200
    ]


@pytest.fixture(scope="module")
def hybrid(storage: ServerProcess, logs: Path) -> Iterator[HttpService]:
    with run_hybrid(storage.address, logs) as service:
        yield service


@pytest.fixture(scope="module")
def api(
    storage: ServerProcess,
    hybrid: HttpService,
    logs: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[HttpService]:
    env = {
        "SUTRA_JOBS_DIR": str(tmp_path_factory.mktemp("jobs")),
        "SUTRA_JOBS_MAX_UPLOAD_BYTES": "512KiB",
        "SUTRA_MAX_BODY_BYTES": "64KiB",  # every upload here is larger: they bypass it
    }
    with run_api(storage.address, hybrid.url, logs, env=env) as service:
        yield service


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


BAD = {
    7: ("{oops", None),
    100: ('{"content": ""}', "content"),
    250: ('{"source": "atlas"}', "content"),
    500: ("[1, 2]", None),
    999: ('{"content": "ok", "metadata": {"k": [1]}}', "metadata"),
}


def test_bulk_ingest_learns_good_lines_and_reports_bad_ones(
    api: HttpService, http: httpx.Client
) -> None:
    lines = [json.dumps({"content": c, "source": "bulk"}) for c in facts("Bulk", 1000)]
    for number, (line, _) in BAD.items():
        lines[number - 1] = line
    lines[799] = "  "  # blank: skipped, not an error
    good = [
        json.loads(raw)["content"] for n, raw in enumerate(lines, 1) if n not in BAD and n != 800
    ]

    job_id = submit(http, api.url, ndjson(lines)[:-1])  # the last line without its newline
    seen: list[int] = []
    job = finished(http, api.url, job_id, seen)

    assert seen == sorted(seen), "progress never goes back"
    assert job["state"] == "done", job
    assert (job["lines_total"], job["lines_done"]) == (1000, 1000)
    assert (job["learned"], job["failed"], job["skipped"]) == (len(good), len(BAD), 1)
    assert job["concepts_created"] >= len(good) and job["rate_lines_per_second"] > 0
    assert [(e["line"], e.get("field")) for e in job["errors"]] == [
        (n, field) for n, (_, field) in BAD.items()
    ]
    assert job["errors_total"] == len(BAD)
    assert job["errors"][0]["message"].startswith("not JSON")
    assert missing_concepts(http, api.url, good) == []

    text = http.get(f"{api.url}/metrics").text
    assert metric(text, "sutra_api_job_lines_total", outcome="learned") >= len(good)
    assert metric(text, "sutra_api_job_lines_total", outcome="failed") >= len(BAD)
    assert metric(text, "sutra_api_jobs", state="done") >= 1


def test_upload_errors(api: HttpService, http: httpx.Client) -> None:
    error = assert_error(http.post(f"{api.url}/learn/jobs", content=b'{"content": "x"}\n'), 415)
    assert "application/x-ndjson" in error["message"]
    wrong = {"content-type": "application/json"}
    assert_error(http.post(f"{api.url}/learn/jobs", content=b"{}", headers=wrong), 415)

    big = b'{"content": "' + b"x" * (600 * 1024) + b'"}\n'  # over the 512 KiB limit
    error = assert_error(
        http.post(f"{api.url}/learn/jobs", content=big, headers=NDJSON), 413, field="body"
    )
    assert str(512 * 1024) in error["message"]
    # Without Content-Length the limit is met while the body streams in.
    chunked = http.post(
        f"{api.url}/learn/jobs", content=iter([big[:300_000], big[300_000:]]), headers=NDJSON
    )
    assert str(512 * 1024) in assert_error(chunked, 413)["message"]
    # Over the app-wide body limit (64 KiB here), within the upload limit: accepted.
    fits = upload_of(facts("Size", 3)) + (b" " * 1000 + b"\n") * 400
    done = finished(http, api.url, submit(http, api.url, fits))
    assert (done["state"], done["learned"], done["skipped"]) == ("done", 3, 400), done

    assert_error(http.get(f"{api.url}/learn/jobs/{'0' * 32}"), 404, field="job_id")
    assert_error(http.get(f"{api.url}/learn/jobs/not-an-id"), 404, field="job_id")
    assert_error(http.post(f"{api.url}/learn/jobs/{'0' * 32}/cancel"), 404, field="job_id")


def test_cancel_a_queued_job(api: HttpService, hybrid: HttpService, http: httpx.Client) -> None:
    first, second = facts("First", 200), facts("Second", 200)
    with frozen(hybrid.pid):  # the first job waits on hybrid; the second stays queued
        running = submit(http, api.url, upload_of(first))
        poll(lambda: report(http, api.url, running)["state"] == "running", timeout=10)
        queued = submit(http, api.url, upload_of(second))
        assert report(http, api.url, queued)["state"] == "queued"
        cancelled = http.post(f"{api.url}/learn/jobs/{queued}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert finished(http, api.url, running)["learned"] == len(first)
    assert report(http, api.url, queued)["state"] == "cancelled"
    assert len(missing_concepts(http, api.url, second)) == len(second)


# ------------------------------------------------------------------- crash and resume


def kill_mid_job(
    http: httpx.Client, pod: HttpService, hybrid: HttpService, job_id: str
) -> dict[str, Any]:
    """SIGKILL `pod` while its job is part way: hybrid is frozen so the job cannot end."""
    poll(lambda: report(http, pod.url, job_id)["lines_done"] >= 50, timeout=30, interval=0.01)
    with frozen(hybrid.pid):
        job = report(http, pod.url, job_id)
        assert job["state"] == "running" and 50 <= job["lines_done"] < job["lines_total"]
        pod.kill()
    return job


def start_api(
    storage: str, hybrid: str, log_dir: Path, env: dict[str, str], *, wait: bool = True
) -> HttpService:
    port = free_port()
    service = start_http_service(
        "sutra.api",
        env={
            "SUTRA_API_HOST": "127.0.0.1",
            "SUTRA_API_PORT": str(port),
            "SUTRA_STORAGE_SERVER": storage,
            "SUTRA_HYBRID_URL": hybrid,
            "SUTRA_REDIS_URL": "",
            "SUTRA_JOBS_BATCH_SIZE": "25",
            **NO_LIMITS,
            **env,
        },
        port=port,
        log_path=log_dir / f"api-{port}.log",
    )
    if wait:
        service.wait_ready()
    return service


def test_resume_after_sigkill(
    storage: ServerProcess, hybrid: HttpService, http: httpx.Client, tmp_path: Path
) -> None:
    contents = facts("Resumed", 500)
    env = {"SUTRA_JOBS_DIR": str(tmp_path / "jobs")}
    first = start_api(storage.address, hybrid.url, tmp_path, env)
    try:
        job_id = submit(http, first.url, upload_of(contents))
        at_kill = kill_mid_job(http, first, hybrid, job_id)
    finally:
        first.stop()
    second = start_api(storage.address, hybrid.url, tmp_path, env)
    try:
        job = finished(http, second.url, job_id)
        assert (job["state"], job["learned"], job["failed"]) == ("done", len(contents), 0)
        assert job["worker"].endswith(f":{second.pid}")
        # It went on from its checkpoint, not from the start.
        resumed = [
            json.loads(line) for line in second.log().splitlines() if '"job started"' in line
        ]
        assert resumed and at_kill["lines_done"] <= resumed[0]["line"] < len(contents)
        assert missing_concepts(http, second.url, contents) == []
    finally:
        second.stop()


def test_redis_job_is_shared_and_taken_over(
    storage: ServerProcess, hybrid: HttpService, http: httpx.Client, tmp_path: Path
) -> None:
    contents = facts("Shared", 500)
    with run_redis(tmp_path) as (_, redis_port):
        env = {
            "SUTRA_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "SUTRA_JOBS_LEASE_SECONDS": "2",
            "SUTRA_JOBS_DIR": str(tmp_path / "unused"),
        }
        pods = [start_api(storage.address, hybrid.url, tmp_path, env, wait=False) for _ in "ab"]
        try:
            for pod in pods:
                pod.wait_ready()
            job_id = submit(http, pods[0].url, upload_of(contents))
            # Any pod reports on any job; the one whose worker claimed it is named.
            worker = poll(lambda: report(http, pods[1].url, job_id)["worker"], timeout=10)
            owner = next(p for p in pods if worker.endswith(f":{p.pid}"))
            other = pods[1 - pods.index(owner)]
            kill_mid_job(http, owner, hybrid, job_id)
            job = finished(http, other.url, job_id)
            assert (job["state"], job["learned"], job["failed"]) == ("done", len(contents), 0)
            assert job["worker"].endswith(f":{other.pid}")
            assert missing_concepts(http, other.url, contents) == []
            assert not (tmp_path / "unused").exists(), "with Redis nothing is kept on disk"
        finally:
            for pod in pods:
                pod.stop()


def test_an_unavailable_hybrid_is_waited_for_not_failed(
    storage: ServerProcess, http: httpx.Client, tmp_path: Path
) -> None:
    contents = facts("Patient", 150)
    port = free_port()
    env = {"SUTRA_JOBS_DIR": str(tmp_path / "jobs"), "SUTRA_JOBS_LEASE_SECONDS": "3"}
    api = start_api(storage.address, f"http://127.0.0.1:{port}", tmp_path, env)
    try:
        job_id = submit(http, api.url, upload_of(contents))
        waiting = poll(
            lambda: (job := report(http, api.url, job_id))["batch_retries"] >= 2 and job,
            timeout=30,
        )
        assert (waiting["state"], waiting["learned"], waiting["failed"]) == ("running", 0, 0)
        assert "waiting to learn from line 1: hybrid unavailable" in waiting["message"]
        hybrid_env = {
            "SUTRA_HYBRID_HOST": "127.0.0.1",
            "SUTRA_HYBRID_PORT": str(port),
            "SUTRA_STORAGE_SERVER": storage.address,
        }
        with run_http_service(
            "sutra.hybrid", env=hybrid_env, port=port, log_path=tmp_path / "hybrid.log"
        ):
            job = finished(http, api.url, job_id)
        assert (job["state"], job["learned"], job["failed"]) == ("done", len(contents), 0)
        assert job["message"] is None and job["batch_retries"] >= 2
        text = http.get(f"{api.url}/metrics").text
        assert metric(text, "sutra_api_job_batch_retries_total") >= 2
    finally:
        api.stop()
