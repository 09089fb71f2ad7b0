"""`sutra client build --out DIR [--api-base URL]`: the UI as a CDN-ready bundle.

Exit codes: 0 written; 2 bad arguments or an unwritable directory (one line on stderr, printed
by `sutra.cli` for the error the handler raises).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    client = subparsers.add_parser(
        "client",
        help="build the web UI's static bundle",
        description="The web UI (sutra-client). `python -m sutra.client` serves it locally.",
    )
    commands = client.add_subparsers(dest="client_command", metavar="SUBCOMMAND")
    client.set_defaults(func=lambda _args: (client.print_help(sys.stderr), 2)[1])

    from sutra.client.bundle import add_arguments

    build = commands.add_parser(
        "build",
        help="write the CDN-ready bundle (hashed assets, index.html, config.js) into DIR",
        description=(
            "Write the UI into DIR: assets under content-hashed names (serve them with "
            "`Cache-Control: public, max-age=31536000, immutable`), index.html and config.js "
            "(serve with `no-cache`), `_headers` with those and the security headers, and "
            "manifest.json listing every file. DIR must be new, empty, or hold an earlier bundle."
        ),
    )
    add_arguments(build)
    build.set_defaults(func=_build)


def _build(args: argparse.Namespace) -> int:
    from sutra.client.bundle import run

    return run(args)
