"""`sutra up`: the whole stack on this machine, with a demo knowledge set; `sutra status`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

DEFAULT_DATA_DIR = Path(".data")


def register(subparsers: Any) -> None:
    up = subparsers.add_parser(
        "up",
        help="run every service locally, restart any that exits (Ctrl-C stops them all)",
        description=(
            "Start the storage server, sutra-hybrid, sutra-api, the operator dashboard "
            "(sutra-control) and the web client (sutra-client) as local processes on their "
            "usual ports, wait until each is ready, load the demo knowledge set into an empty "
            "store, and print the URLs. Each log line is prefixed with its service's name. "
            "A service that exits or is killed is restarted after a back-off delay (1 s, "
            "doubling to 30 s while it keeps exiting; back to 1 s once it stayed ready for a "
            "minute), as Kubernetes restarts a pod's containers; `sutra status` shows each "
            "one's state. Ctrl-C stops everything cleanly. Ports come from the services' own "
            "variables (SUTRA_STORAGE_PORT, SUTRA_METRICS_PORT, SUTRA_HYBRID_PORT, SUTRA_API_PORT, "
            "SUTRA_CONTROL_PORT, SUTRA_CLIENT_PORT); SUTRA_CONTROL_TOKEN protects the dashboard."
        ),
    )
    up.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="where the store lives (default: ./.data, ignored by git)",
    )
    up.add_argument("--no-demo", action="store_true", help="do not load the demo knowledge set")
    up.add_argument(
        "--tier",
        choices=("low", "medium", "high"),
        default="low",
        help="low: one storage server (default); medium: its log replicated on a 3-node NATS "
        "JetStream cluster, with 2 read followers (docs/storage-replication.md); high: the "
        "store split into the tier table's shards behind the shard router "
        "(docs/storage-sharding.md)",
    )
    up.set_defaults(func=run_up)

    status = subparsers.add_parser(
        "status",
        help="show the state of each service that `sutra up` runs",
        description=(
            "Print each service of the stack that `sutra up` runs on this data directory: "
            "its pid, its state (waiting, starting, ready, backing-off: exited and waiting "
            "for its restart, stopped), how often it was restarted, its uptime and its URL. "
            "Read from the state file `sutra up` keeps in the data directory. Exit 0 while "
            "`sutra up` runs, 1 when it does not (its last state is printed), 2 when the "
            "directory holds no state."
        ),
    )
    status.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="the data directory `sutra up` was given (default: ./.data)",
    )
    status.add_argument("--json", action="store_true", help="print the state as JSON")
    status.set_defaults(func=run_status)


def load_demo(stack: Any) -> None:
    """Teach the demo facts through the public API, once: only into an empty store."""
    from sutra.stack.demo import batches, demo_facts
    from sutra.stack.up import post_json
    from sutra.storage.client import StorageClient

    storage = stack.member("storage-server")
    api = next((r for r in stack.members if r.service.name == "sutra-api"), None)
    if api is None:
        stack.say("sutra up", "sutra-api is not installed; demo knowledge not loaded")
        return
    with StorageClient(storage.url) as client:
        concepts = client.stats().concepts
    if concepts:
        stack.say("sutra up", f"store has {concepts} concepts; demo knowledge not loaded again")
        return
    facts = demo_facts()
    for number, batch in enumerate(batches(facts), start=1):
        stack.check_stop()  # a Ctrl-C while the demo loads stops between two batches
        post_json(
            api.url + "/learn/batch", {"items": [{"content": f, "source": "demo"} for f in batch]}
        )
        stack.say("sutra up", f"demo knowledge: batch {number} learned ({len(batch)} facts)")
    stack.say("sutra up", f"demo knowledge loaded: {len(facts)} facts")


def announce(stack: Any) -> None:
    lines = ["", "Sutra is up:"]
    for member in stack.members:
        lines.append(f"  {member.service.name:<15} {member.url}")
    api = next((r for r in stack.members if r.service.name == "sutra-api"), None)
    if api is not None:
        lines += [
            f"  API docs        {api.url}/docs",
            "",
            "Ask a question:",
            f"  curl -s {api.url}/reason -H 'Content-Type: application/json' \\",
            '       -d \'{"query": "What does the heart help transport?"}\'',
        ]
    by_name = {r.service.name: r for r in stack.members}
    if "sutra-client" in by_name:
        lines += ["", f"Ask and learn in the browser: {by_name['sutra-client'].url}"]
    if "sutra-control" in by_name:
        access = (
            "log in with SUTRA_CONTROL_TOKEN"
            if stack.environ.get("SUTRA_CONTROL_TOKEN")
            else "no SUTRA_CONTROL_TOKEN: open to this machine only"
        )
        lines.append(f"Operator dashboard: {by_name['sutra-control'].url} ({access})")
    lines += ["", "`sutra status` shows each service's state. Ctrl-C stops everything.", ""]
    for line in lines:
        stack.say("sutra up", line)


def run_up(args: argparse.Namespace) -> int:
    from sutra.stack.services import installed
    from sutra.stack.up import run

    services = installed()
    if args.tier == "medium":
        from sutra.stack.medium import medium_stack

        services = medium_stack(services, args.data_dir.resolve())
    elif args.tier == "high":
        from sutra.stack.high import high_stack

        services = high_stack(services, args.data_dir.resolve())

    def after_ready(stack: Any) -> None:
        if not args.no_demo:
            load_demo(stack)
        announce(stack)

    return run(services, args.data_dir.resolve(), after_ready=after_ready)


def run_status(args: argparse.Namespace) -> int:
    from sutra.stack.status import print_status

    return print_status(args.data_dir.resolve(), args.json)
