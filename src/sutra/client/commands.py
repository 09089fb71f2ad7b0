"""`sutra client build --out DIR [--api-base URL]`: the UI as a CDN-ready bundle;
`sutra client publish --to s3://BUCKET/PREFIX`: the same bundle into an S3 bucket.

Exit codes: 0 written; 2 bad arguments, an unwritable directory or an unreachable bucket (one
line on stderr, printed by `sutra.cli` for the error the handler raises).
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

    from sutra.client import publish

    upload = commands.add_parser(
        "publish",
        help="build the bundle and publish it to an S3 bucket (assets, then index, then cleanup)",
        description=(
            "Build the bundle and publish it to s3://BUCKET/PREFIX in the order that keeps "
            "every page whole: new hashed assets (immutable), then index.html and config.js "
            "(no-cache), then the assets no index has named for --grace-seconds are deleted. "
            "Credentials and endpoint: the standard AWS_* variables or mounted files."
        ),
    )
    publish.add_arguments(upload)
    upload.set_defaults(func=_publish)


def _build(args: argparse.Namespace) -> int:
    from sutra.client.bundle import run

    return run(args)


def _publish(args: argparse.Namespace) -> int:
    from sutra.client.publish import run

    return run(args)
