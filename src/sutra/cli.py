"""The `sutra` command: one entry point whose subcommands live with the code they drive.

Each command group module exposes ``register(subparsers)``; its handlers take the parsed
arguments and return the process exit code (0 ok, 1 findings). A handler signals a usage or
tool error by raising: `main` turns any exception into one line and exit code 2.
Heavy imports stay inside the handlers so that ``sutra --help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from sutra import __version__

COMMAND_MODULES = (
    "sutra.api.learn_command",
    "sutra.client.commands",
    "sutra.gitops.commands",
    "sutra.gitops.crd_schemas",
    "sutra.gitops.generate_commands",
    "sutra.gitops.release_commands",
    "sutra.gitops.scan",
    "sutra.gitops.tier_commands",
    "sutra.stack.bench_commands",
    "sutra.stack.commands",
    "sutra.storage.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sutra",
        description=(
            "Sutra Deploy: render, validate and policy-check the Kubernetes tiers, "
            "and operate the Sutra AI services."
        ),
    )
    parser.add_argument("--version", action="version", version=f"sutra {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "func", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(handler(args))
    except KeyboardInterrupt:
        print("sutra: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # every command's errors: one line, never a traceback
        print(f"sutra {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
