"""One upload line to a fact: the same model and the same messages as POST /learn's body.

A line is checked with `LearnRequest`, so a line the job refuses is one POST /learn would
refuse, with the field it names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import ValidationError

from sutra.api.jobs.models import LineError
from sutra.api.models import LearnRequest
from sutra.common import contract
from sutra.common.http import field_path


@dataclass(frozen=True)
class Fact:
    line: int
    request: LearnRequest

    def item(self) -> contract.LearnRequest:
        """The item of a hybrid learn batch, as POST /learn/batch builds it."""
        return self.request.to_wire()


def parse(line: int, raw: bytes, max_bytes: int) -> Fact | LineError | None:
    """The fact on line `line`, its error, or None for a blank line."""
    if len(raw) > max_bytes:
        return LineError(
            line=line,
            message=f"line is longer than {max_bytes} bytes (SUTRA_MAX_BODY_BYTES)",
        )
    if not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError
        return LineError(line=line, message=f"not JSON: {exc}")
    if not isinstance(value, dict):
        return LineError(line=line, message='expected a JSON object such as {"content": ...}')
    try:
        return Fact(line, LearnRequest.model_validate(value))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = field_path(first.get("loc", ()))
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        return LineError(line=line, message=f"{field}: {message}", field=field)


def split(
    first_line: int, raw_lines: list[bytes], max_bytes: int
) -> tuple[list[Fact], list[LineError], int]:
    """(facts, errors, blank lines) of consecutive lines, the first numbered `first_line`."""
    facts: list[Fact] = []
    errors: list[LineError] = []
    blank = 0
    for offset, raw in enumerate(raw_lines):
        parsed = parse(first_line + offset, raw, max_bytes)
        if parsed is None:
            blank += 1
        elif isinstance(parsed, Fact):
            facts.append(parsed)
        else:
            errors.append(parsed)
    return facts, errors, blank
