"""`sutra storage status`: each member of a shard, its role, place in the log and lag."""

from __future__ import annotations

from typing import Any


def member_status(address: str, timeout: float) -> dict[str, Any]:
    """One member's status as `sutra storage status --json` prints it (lag filled later)."""
    from sutra.storage.client import StorageClient

    with StorageClient(address, timeout=timeout, readers=[]) as client:
        status = client.replication_status()
        if status is None:  # a single server: it is the writer, its log is its write sequence
            return {
                "role": "writer",
                "shard": 0,
                "address": address,
                "pid": None,
                "sequence": client.stats().sequence,
                "lag": 0,
                "_tail": 0,
            }
    return {
        "role": status["role"],
        "shard": status["shard"],
        "address": address,
        "pid": status["pid"],
        "sequence": status["sequence"],
        "lag": status["lag"],
        "_tail": status["log_sequence"],
    }


def shard_status(
    addresses: list[str], timeout: float
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """(members, failures): lag measured against the newest tail any member has seen."""
    from sutra.storage.errors import StorageError

    members: list[dict[str, Any]] = []
    failures: list[tuple[str, str]] = []
    for address in addresses:
        try:
            members.append(member_status(address, timeout))
        except StorageError as exc:
            failures.append((address, exc.message))
    tail = max([m["_tail"] for m in members] + [m["sequence"] for m in members] + [0])
    for member in members:
        if member.pop("_tail"):
            member["lag"] = max(0, tail - member["sequence"])
    return members, failures


def format_table(members: list[dict[str, Any]]) -> str:
    lines = [f"{'ROLE':<9} {'SHARD':>5} {'ADDRESS':<24} {'PID':>7} {'SEQUENCE':>10} {'LAG':>6}"]
    for m in members:
        pid = "-" if m["pid"] is None else str(m["pid"])
        lines.append(
            f"{m['role']:<9} {m['shard']:>5} {m['address']:<24} {pid:>7} "
            f"{m['sequence']:>10} {m['lag']:>6}"
        )
    return "\n".join(lines)
