"""`sutra learn FILE`: teach a file of facts through the API's bulk ingest (POST /learn/jobs).

FILE is NDJSON (one JSON object per line, the fields of POST /learn's body) or plain text
(one fact per line, sent as {"content": LINE}); blank lines are skipped and line numbers in
errors are FILE's. The command uploads, then follows the job: a progress bar on a terminal,
a progress line every few seconds otherwise, and a summary at the end.

Exit codes: 0 every line learned; 1 some lines failed (or the job failed or was cancelled);
2 a usage error (no such file, the API unreachable, the upload refused), one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

DEFAULT_API = "http://localhost:8000"
FINISHED = ("done", "failed", "cancelled")
SHOWN_ERRORS = 5
# One report a second: well within the API's default limit for the route (120 a minute).
POLL_SECONDS = 1.0
NDJSON = "application/x-ndjson"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "learn",
        help="teach a file of facts (NDJSON or one fact per line) through the API",
        description=(
            "Upload FILE to the API's bulk ingest (POST /learn/jobs) and follow the job to its "
            "end. FILE is NDJSON, one JSON object per line such as "
            '{"content": "Paris is in France.", "source": "atlas"}, or plain text, one fact '
            "per line. Blank lines are skipped; errors name FILE's line numbers. "
            "Exit 0 when every line was learned, 1 when some failed, 2 on a usage error."
        ),
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="the facts to learn")
    parser.add_argument(
        "--api", default=DEFAULT_API, metavar="URL", help=f"the API (default {DEFAULT_API})"
    )
    parser.add_argument(
        "--format",
        choices=("auto", "ndjson", "text"),
        default="auto",
        help="auto (default): NDJSON when the first non-blank line is a JSON object",
    )
    parser.add_argument(
        "--no-wait", action="store_true", help="print the job id once uploaded and exit"
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="seconds between progress lines when not on a terminal (default 5)",
    )
    parser.set_defaults(func=run)


class UsageError(Exception):
    """Reported as one line, exit 2 (by `sutra.cli`)."""


def run(args: argparse.Namespace) -> int:
    import httpx

    path: Path = args.file
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    api = args.api.rstrip("/")
    with httpx.Client(base_url=api, timeout=60, trust_env=False) as http:
        job = upload(http, path, args.format)
        if args.no_wait:
            print(job["id"])
            return 0
        print(f"job {job['id']}: {job['lines_total']} lines uploaded", file=sys.stderr)
        final = follow(http, job["id"], job["lines_total"], args.interval)
    return summarise(final)


def is_ndjson(path: Path) -> bool:
    with open(path, "rb") as source:
        for raw in source:
            if raw.strip():
                try:
                    return isinstance(json.loads(raw), dict)
                except ValueError:
                    return False
    return True


def as_ndjson(path: Path, out: IO[bytes]) -> None:
    """Each line of a text file as {"content": line}; blank lines stay blank (line numbers)."""
    with open(path, encoding="utf-8", errors="replace") as source:
        for line in source:
            text = line.rstrip("\r\n")
            out.write(json.dumps({"content": text.strip()}).encode() if text.strip() else b"")
            out.write(b"\n")
    out.flush()
    out.seek(0)


def upload(http: Any, path: Path, fmt: str) -> dict[str, Any]:
    ndjson = fmt == "ndjson" or (fmt == "auto" and is_ndjson(path))
    with tempfile.TemporaryFile() as converted:
        if ndjson:
            body: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed below
        else:
            as_ndjson(path, converted)
            body = converted
        try:
            reply = request(
                http, "POST", "/learn/jobs", content=body, headers={"content-type": NDJSON}
            )
        finally:
            if body is not converted:
                body.close()
    if reply.status_code != 202:
        raise UsageError(f"the API refused the upload: {error_message(reply)}")
    return dict(reply.json())


def request(http: Any, method: str, path: str, **kwargs: Any) -> Any:
    import httpx

    try:
        return http.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise UsageError(f"cannot reach the API at {http.base_url}: {exc}") from None


def error_message(reply: Any) -> str:
    try:
        return str(reply.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {reply.status_code}"


def follow(http: Any, job_id: str, total: int, interval: float) -> dict[str, Any]:
    """Poll the job until it ends, showing progress; its last report."""
    progress = Progress(total, sys.stderr, interval)
    while True:
        reply = request(http, "GET", f"/learn/jobs/{job_id}")
        if reply.status_code in (429, 503):  # rate limited, or the queue busy: wait
            time.sleep(retry_after(reply))
            continue
        if reply.status_code != 200:
            raise UsageError(f"job {job_id}: {error_message(reply)}")
        job = dict(reply.json())
        progress.show(job)
        if job["state"] in FINISHED:
            progress.close()
            return job
        time.sleep(POLL_SECONDS)


def retry_after(reply: Any) -> float:
    value = reply.headers.get("retry-after", "")
    return float(value) if value.isdigit() else 1.0


class Progress:
    """A bar redrawn in place on a terminal; a plain line every `interval` s otherwise."""

    def __init__(self, total: int, out: IO[str], interval: float) -> None:
        self.total = max(total, 1)
        self.out = out
        self.tty = out.isatty()
        self.interval = interval
        self.last = 0.0

    def show(self, job: dict[str, Any]) -> None:
        done = job["lines_done"]
        text = (
            f"{done}/{job['lines_total']} lines, {job['learned']} learned, "
            f"{job['failed']} failed, {job['rate_lines_per_second']:g} lines/s"
        )
        if self.tty:
            filled = int(30 * done / self.total)
            self.out.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {text}\x1b[K")
            self.out.flush()
        elif time.monotonic() - self.last >= self.interval or job["state"] in FINISHED:
            self.last = time.monotonic()
            print(f"{job['state']}: {text}", file=self.out, flush=True)

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")
            self.out.flush()


def summarise(job: dict[str, Any]) -> int:
    print(
        f"job {job['id']} {job['state']}: {job['learned']} of {job['lines_total']} lines "
        f"learned ({job['concepts_created']} new concepts, {job['associations_created']} "
        f"associations), {job['failed']} failed, {job['skipped']} blank"
    )
    for error in job["errors"][:SHOWN_ERRORS]:
        print(f"  line {error['line']}: {error['message']}")
    more = job["errors_total"] - min(len(job["errors"]), SHOWN_ERRORS)
    if more > 0:
        print(f"  ... and {more} more (GET /learn/jobs/{job['id']})")
    if job.get("message"):
        print(f"  {job['message']}")
    return 0 if job["state"] == "done" and job["failed"] == 0 else 1
