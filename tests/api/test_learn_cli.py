"""`sutra learn FILE` against a running storage, hybrid and api: exit codes 0, 1 and 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sutra.common.testing import HttpService, dead_url
from sutra.storage.ids import concept_id_for
from sutra.storage.testing import ServerProcess

from .support import run_api, run_hybrid


@pytest.fixture(scope="module")
def api(
    storage: ServerProcess, logs: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HttpService]:
    env = {"SUTRA_JOBS_DIR": str(tmp_path_factory.mktemp("jobs"))}
    with (
        run_hybrid(storage.address, logs) as hybrid,
        run_api(storage.address, hybrid.url, logs, env=env) as service,
    ):
        yield service


def learn(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sutra.cli", "learn", *args, "--interval", "0.5"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def concept_exists(api: HttpService, content: str) -> bool:
    return httpx.get(f"{api.url}/concepts/{concept_id_for(content)}").status_code == 200


def test_ndjson_file_learned_exit_0(api: HttpService, tmp_path: Path) -> None:
    facts = [f"Comet {i} passes the inner planets every {i + 3} years." for i in range(40)]
    path = tmp_path / "facts.ndjson"
    path.write_text("".join(json.dumps({"content": f, "source": "cli"}) + "\n" for f in facts))

    done = learn(str(path), "--api", api.url)

    assert done.returncode == 0, done.stderr
    assert "40 of 40 lines learned" in done.stdout and "0 failed" in done.stdout
    assert re.search(r"^done: 40/40 lines", done.stderr, re.M), done.stderr  # not a TTY
    assert all(concept_exists(api, f) for f in facts)


def test_text_file_with_a_bad_line_exit_1(api: HttpService, tmp_path: Path) -> None:
    path = tmp_path / "facts.txt"
    path.write_text("Ravens can mimic speech.\n\n" + "x" * 10_001 + "\nOwls hunt at night.\n")

    done = learn(str(path), "--api", api.url)

    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 of 4 lines learned" in done.stdout and "1 failed, 1 blank" in done.stdout
    assert re.search(r"^  line 3: content: String should have at most", done.stdout, re.M)
    assert concept_exists(api, "Owls hunt at night.")


def test_no_wait_prints_the_job_id(api: HttpService, tmp_path: Path) -> None:
    path = tmp_path / "one.txt"
    path.write_text("Glaciers carve valleys.\n")

    done = learn(str(path), "--api", api.url, "--no-wait")

    assert done.returncode == 0, done.stderr
    job_id = done.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{32}", job_id), done.stdout
    assert httpx.get(f"{api.url}/learn/jobs/{job_id}").status_code == 200


def test_usage_errors_exit_2(api: HttpService, tmp_path: Path) -> None:
    missing = learn(str(tmp_path / "nope.ndjson"), "--api", api.url)
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"sutra learn: error: {tmp_path / 'nope.ndjson'}: no such file"
    ]

    path = tmp_path / "fact.txt"
    path.write_text("Tides follow the moon.\n")
    unreachable = learn(str(path), "--api", dead_url())
    assert unreachable.returncode == 2
    (line,) = unreachable.stderr.strip().splitlines()
    assert line.startswith("sutra learn: error: cannot reach the API at http://127.0.0.1:")
