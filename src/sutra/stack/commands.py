"""`sutra up`: the whole stack on this machine, with a demo knowledge set."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

DEFAULT_DATA_DIR = Path(".data")


def register(subparsers: Any) -> None:
    up = subparsers.add_parser(
        "up",
        help="run every service locally (Ctrl-C stops them all)",
        description=(
            "Start the storage server, sutra-hybrid, sutra-api, the operator dashboard "
            "(sutra-control) and the web client (sutra-client) as local processes on their "
            "usual ports, wait until each is ready, load the demo knowledge set into an empty "
            "store, and print the URLs. Each log line is prefixed with its service's name. "
            "Ctrl-C stops everything cleanly. Ports come from the services' own variables "
            "(SUTRA_STORAGE_PORT, SUTRA_METRICS_PORT, SUTRA_HYBRID_PORT, SUTRA_API_PORT, "
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
    up.set_defaults(func=run_up)


def load_demo(stack: Any) -> None:
    """Teach the demo facts through the public API, once: only into an empty store."""
    from sutra.stack.demo import batches, demo_facts
    from sutra.stack.up import post_json
    from sutra.storage.client import StorageClient

    storage = next(r for r in stack.running if r.service.name == "storage-server")
    api = next((r for r in stack.running if r.service.name == "sutra-api"), None)
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
    for running in stack.running:
        lines.append(f"  {running.service.name:<15} {running.url}")
    api = next((r for r in stack.running if r.service.name == "sutra-api"), None)
    if api is not None:
        lines += [
            f"  API docs        {api.url}/docs",
            "",
            "Ask a question:",
            f"  curl -s {api.url}/reason -H 'Content-Type: application/json' \\",
            '       -d \'{"query": "What does the heart help transport?"}\'',
        ]
    by_name = {r.service.name: r for r in stack.running}
    if "sutra-client" in by_name:
        lines += ["", f"Ask and learn in the browser: {by_name['sutra-client'].url}"]
    if "sutra-control" in by_name:
        access = (
            "log in with SUTRA_CONTROL_TOKEN"
            if stack.environ.get("SUTRA_CONTROL_TOKEN")
            else "no SUTRA_CONTROL_TOKEN: open to this machine only"
        )
        lines.append(f"Operator dashboard: {by_name['sutra-control'].url} ({access})")
    lines += ["", "Ctrl-C stops everything.", ""]
    for line in lines:
        stack.say("sutra up", line)


def run_up(args: argparse.Namespace) -> int:
    from sutra.stack.services import installed
    from sutra.stack.up import run

    services = installed()

    def after_ready(stack: Any) -> None:
        if not args.no_demo:
            load_demo(stack)
        announce(stack)

    return run(services, args.data_dir.resolve(), after_ready=after_ready)
