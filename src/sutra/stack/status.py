"""The stack's state as `sutra up` last wrote it, and `sutra status`, which prints it.

`sutra up` rewrites one small JSON file in its data directory on every change of a member's
state (started, ready, exited, backing off). Writing a temporary file and renaming it over
the old one means a reader sees the previous state or the new one, never half of a file.
The file holds moments (unix seconds), not durations, so a reader computes uptimes itself
and the file need not be rewritten every second.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

STATE_FILE = "stack-state.json"
# A member's state, as `sutra status` shows it. Kubernetes' words where it has them.
WAITING = "waiting"  # not started yet: a member before it is still starting
STARTING = "starting"  # running, not ready yet
READY = "ready"
BACKING_OFF = "backing-off"  # exited; restarted when its back-off delay has passed
STOPPED = "stopped"  # `sutra up` stopped it (or is gone)


def state_path(data_dir: Path) -> Path:
    return data_dir / STATE_FILE


def write_state(data_dir: Path, state: dict[str, Any]) -> None:
    """Replace the state file in one step (temporary file + rename)."""
    path = state_path(data_dir)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def read_state(data_dir: Path) -> dict[str, Any] | None:
    """The last state written under `data_dir`, or None when there is none."""
    try:
        return json.loads(state_path(data_dir).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def member(state: dict[str, Any], name: str) -> dict[str, Any]:
    """One member's entry; KeyError naming it when the stack has no such member."""
    for entry in state["members"]:
        if entry["name"] == name:
            return entry
    raise KeyError(f"no member {name!r} in the stack state")


def described(state: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """The state with what a reader derives: whether `sutra up` runs, each member's uptime."""
    now = time.time() if now is None else now
    running = state.get("state") != STOPPED and alive(state.get("pid"))
    members = []
    for entry in state["members"]:
        uptime = None
        if running and entry["state"] in (STARTING, READY) and entry.get("started_at"):
            uptime = round(now - entry["started_at"], 1)
        members.append({**entry, "uptime_seconds": uptime})
    return {**state, "running": running, "members": members}


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def render(state: dict[str, Any], now: float | None = None) -> str:
    """The table `sutra status` prints."""
    now = time.time() if now is None else now
    header = ["NAME", "PID", "STATE", "RESTARTS", "UPTIME", "URL"]
    rows = [header]
    for entry in state["members"]:
        what = entry["state"]
        if what == BACKING_OFF and entry.get("restart_at"):
            what += f" (restart in {max(0.0, entry['restart_at'] - now):.0f} s)"
        rows.append(
            [
                entry["name"],
                str(entry.get("pid") or "-"),
                what,
                str(entry["restarts"]),
                duration(entry.get("uptime_seconds")),
                entry["url"],
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    if state["running"]:
        title = f"sutra up (pid {state['pid']}) is running"
    else:
        title = f"sutra up (pid {state['pid']}) is not running; its last state:"
    return "\n".join([title, *lines])


def print_status(data_dir: Path, as_json: bool) -> int:
    """0 while `sutra up` runs on `data_dir`, 1 when it does not (the last state is printed)."""
    state = read_state(data_dir)
    if state is None:
        raise FileNotFoundError(
            f"no stack state in {data_dir}: is `sutra up --data-dir {data_dir}` running?"
        )
    state = described(state)
    if as_json:
        print(json.dumps(state, indent=2))
    else:
        print(render(state))
    return 0 if state.get("running") else 1
