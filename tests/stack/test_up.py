"""`sutra up` starts every installed service for real, serves, and stops leaving nothing behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sutra.stack.services import installed
from sutra.storage.testing import free_port

SUTRA = str(Path(sys.executable).parent / "sutra")
READY_LINE = "Sutra is up:"


def stack_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    for service in installed():
        for variable in service.ports(env):
            env[variable] = str(free_port())
    env["SUTRA_STORAGE_PATH"] = str(data_dir / "storage")
    return env


def processes_with(marker: str) -> list[int]:
    """PIDs whose environment holds `marker` (the test's unique data directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def start_up(data_dir: Path) -> subprocess.Popen[str]:
    """`sutra up --no-demo` on `data_dir`, its output (both streams) readable line by line."""
    return subprocess.Popen(
        [SUTRA, "up", "--data-dir", str(data_dir), "--no-demo"],
        env=stack_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_line(process: subprocess.Popen[str], needle: str, timeout: float) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line:
            lines.append(line.rstrip("\n"))
            if needle in line:
                return lines
            continue
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} never printed; output:\n" + "\n".join(lines[-40:]))


def prefixed(line: str) -> tuple[str, str]:
    """`name      | text` -> (name, text)."""
    name, _, text = line.partition(" | ")
    return name.strip(), text


@pytest.fixture
def stack(tmp_path: Path):
    data_dir = tmp_path / "data"
    env = stack_env(data_dir)
    process = subprocess.Popen(
        [SUTRA, "up", "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = wait_for_line(process, READY_LINE, timeout=180)
        yield process, env, lines, data_dir
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        wait_until_gone(str(data_dir))


def wait_until_gone(marker: str, timeout: float = 15.0) -> list[int]:
    """Poll until no process carries `marker`; the PIDs still there when time ran out."""
    deadline = time.monotonic() + timeout
    while (left := processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def test_up_serves_every_installed_service_and_stops_cleanly(stack):
    process, env, lines, data_dir = stack
    services = installed()
    assert [s.name for s in services][:1] == ["storage-server"]
    for service in services:
        assert any(prefixed(line) == (service.name, "ready") for line in lines), service.name
        if service.health != "grpc":
            url = f"http://127.0.0.1:{service.port(env)}{service.health}"
            with urllib.request.urlopen(url, timeout=5) as reply:
                assert reply.status == 200
    # every child is ours, prefixed, and alive
    children = processes_with(str(data_dir))
    assert len(children) >= len(services)

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=90) == 0
    assert wait_until_gone(str(data_dir)) == []
    for service in services:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", service.port(env)))  # free again


def test_up_loads_the_demo_and_answers_through_the_api(stack):
    process, env, lines, _ = stack
    if "sutra-api" not in {s.name for s in installed()}:
        pytest.fail("sutra-api is part of the stack; it must be installed")
    assert any("demo knowledge loaded" in line for line in lines)
    request = urllib.request.Request(
        f"http://127.0.0.1:{env['SUTRA_API_PORT']}/reason",
        data=json.dumps({"query": "What does the heart help transport?"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        body = json.loads(reply.read())
    assert "oxygen" in body["answer"].lower()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=90) == 0


def process_group(pid: int) -> int:
    """The process group of `pid` (field 5 of /proc/PID/stat, after the command's parens)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[2])


def test_the_services_stop_even_when_up_is_killed(stack):
    """SIGKILL gives `sutra up` no chance to stop its children: their lifeline must."""
    process, _, _, data_dir = stack
    children = [pid for pid in processes_with(str(data_dir)) if pid != process.pid]
    assert len(children) == len(installed())
    groups = {process_group(pid) for pid in children}
    assert len(groups) == 1, "the children share one process group"
    assert groups != {process_group(process.pid)}, "a group of their own, not sutra up's"
    process.kill()
    process.wait()
    assert wait_until_gone(str(data_dir), timeout=20) == []


def test_the_services_stop_when_up_is_killed_while_starting(tmp_path: Path):
    """Killed while a child is being started (mid-import): that child goes too."""
    data_dir = tmp_path / "data"
    process = start_up(data_dir)
    try:
        wait_for_line(process, "sutra-hybrid", timeout=120)  # `starting (python -m ...)`
        assert processes_with(str(data_dir))
    finally:
        process.kill()
        process.wait()
    assert wait_until_gone(str(data_dir), timeout=20) == []


def test_a_port_in_use_is_one_line_naming_the_port(tmp_path: Path):
    env = stack_env(tmp_path / "data")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env["SUTRA_STORAGE_PORT"] = str(port)
        done = subprocess.run(
            [SUTRA, "up", "--data-dir", str(tmp_path / "data")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert str(port) in done.stderr
    assert "SUTRA_STORAGE_PORT" in done.stderr


def test_sigterm_while_starting_stops_what_started_and_exits_0(tmp_path: Path):
    data_dir = tmp_path / "data"
    process = start_up(data_dir)
    try:
        wait_for_line(process, "sutra-hybrid", timeout=120)  # the store is up, hybrid starting
        process.send_signal(signal.SIGTERM)
        lines = wait_for_line(process, "stopping (SIGTERM)", timeout=30)
        assert process.wait(timeout=60) == 0, "\n".join(lines)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert wait_until_gone(str(data_dir), timeout=20) == []
