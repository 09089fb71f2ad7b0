"""`sutra up` restarts a member that exits, with growing delays, and shows it in `sutra status`.

Real processes and signals. Waits are conditions with deadlines; the assertions are on counts,
states and the delays `sutra up` announces, never on tight wall-clock figures.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx

from sutra.common.testing import poll
from sutra.stack.services import installed
from sutra.stack.testing import run_up

from .test_up import SUTRA, prefixed, stack_env, wait_until_gone

RESTART_LINE = re.compile(r"exited with code (-?\d+); restart (\d+) in ([\d.]+) s$")


def status(data_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SUTRA, "status", "--data-dir", str(data_dir), *extra],
        capture_output=True,
        text=True,
        timeout=30,
    )


def restarts_said(output: str, name: str) -> list[tuple[int, int, float]]:
    """(exit code, restart number, delay) of each restart `sutra up` announced for `name`."""
    found = []
    for line in output.splitlines():
        who, text = prefixed(line)
        if who == name and (match := RESTART_LINE.search(text)):
            found.append((int(match[1]), int(match[2]), float(match[3])))
    return found


def test_a_killed_hybrid_is_restarted_and_the_api_refuses_fast_meanwhile(tmp_path: Path) -> None:
    with run_up(tmp_path, demo=False) as stack:
        first = stack.member("sutra-hybrid")
        assert first["state"] == "ready" and first["restarts"] == 0
        with httpx.Client(base_url=stack.api, timeout=30) as http:
            assert http.post("/reason", json={"query": "What pumps blood?"}).status_code == 200
            os.kill(first["pid"], signal.SIGKILL)
            outage: list[tuple[float, int]] = []  # (seconds, status) while hybrid is down

            def back() -> bool:
                started = time.monotonic()
                reply = http.post("/reason", json={"query": f"What is {len(outage)} about?"})
                outage.append((time.monotonic() - started, reply.status_code))
                hybrid = stack.member("sutra-hybrid")
                return hybrid["state"] == "ready" and hybrid["restarts"] == 1

            poll(back, timeout=60, interval=0.1, what="sutra-hybrid restarted and ready")
            # Refused at once while it was down, by a ready API: never a refused connection.
            refused = [took for took, code in outage if code == 503]
            assert refused, outage
            assert {code for _, code in outage} <= {200, 503}, outage
            assert max(refused) < 5 * 2.0, outage  # the /reason budget is 2 s
            # The breaker that opened meanwhile closes again: answers come back.
            poll(
                lambda: (
                    http.post("/reason", json={"query": "What carries oxygen?"}).status_code == 200
                ),
                timeout=30,
                interval=0.2,
                what="/reason answered again",
            )
        again = stack.member("sutra-hybrid")
        assert again["pid"] != first["pid"] and again["uptime_seconds"] is not None
        assert restarts_said(stack.output(), "sutra-hybrid") == [(-9, 1, 1.0)]
        others = [m for m in stack.state()["members"] if m["name"] != "sutra-hybrid"]
        assert all(m["state"] == "ready" and m["restarts"] == 0 for m in others), others

        shown = status(stack.data_dir)
        assert shown.returncode == 0, shown.stderr
        table = shown.stdout.splitlines()
        assert table[1].split() == ["NAME", "PID", "STATE", "RESTARTS", "UPTIME", "URL"]
        hybrid_row = next(line.split() for line in table if line.startswith("sutra-hybrid"))
        assert hybrid_row[:4] == ["sutra-hybrid", str(again["pid"]), "ready", "1"]
        assert len(table) == 2 + len(installed())
        assert stack.stop() == 0
    assert status(stack.data_dir).returncode == 1  # stopped: the last state, exit 1


def test_a_crash_looping_member_backs_off_and_sigterm_then_stops_everything(
    tmp_path: Path,
) -> None:
    """Hybrid exits 2 at once (a bad setting): restarted 1, 2, 4 ... s apart, said once each;
    the members after it wait; SIGTERM during a back-off stops the stack and restarts nothing."""
    data_dir = tmp_path / "data"
    env = {**stack_env(data_dir), "SUTRA_HYBRID_WORKERS": "0"}
    log_path = tmp_path / "up.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [SUTRA, "up", "--data-dir", str(data_dir), "--no-demo"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:

        def hybrid() -> dict:
            shown = status(data_dir, "--json")
            if shown.returncode == 2:  # no state file yet
                return {"restarts": 0, "state": None}
            state = json.loads(shown.stdout)
            return next(m for m in state["members"] if m["name"] == "sutra-hybrid")

        poll(
            lambda: (h := hybrid())["restarts"] >= 3 and h["state"] == "backing-off",
            timeout=90,
            interval=0.2,
            what="hybrid backing off after its third exit",
        )
        state = json.loads(status(data_dir, "--json").stdout)
        states = {m["name"]: m["state"] for m in state["members"]}
        assert states["storage-server"] == "ready"
        assert states.get("sutra-api") == "waiting", states  # started only after hybrid
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert wait_until_gone(str(data_dir), timeout=20) == []
    output = log_path.read_text(errors="replace")
    said = restarts_said(output, "sutra-hybrid")
    exits = [line for line in output.splitlines() if "sutra-hybrid: invalid setting" in line]
    assert len(said) == len(exits) >= 3, output[-3000:]  # one line per back-off, no more
    assert [number for _, number, _ in said] == list(range(1, len(said) + 1))
    assert [delay for _, _, delay in said] == [min(30.0, 2.0**k) for k in range(len(said))]
    assert {code for code, _, _ in said} == {2}
    stopping = output.index("stopping (SIGTERM)")
    assert "starting (restart" not in output[stopping:], "restarted after the stop"
    final = json.loads(status(data_dir, "--json").stdout)
    assert not final["running"] and {m["state"] for m in final["members"]} == {"stopped"}


def test_status_without_a_stack_says_so_in_one_line(tmp_path: Path) -> None:
    shown = status(tmp_path)
    assert shown.returncode == 2
    assert shown.stderr.count("\n") == 1 and "sutra up --data-dir" in shown.stderr
