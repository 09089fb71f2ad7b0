"""Values that cross a service boundary with the same rules on both sides (api and hybrid).

One definition, imported by both services' request models, so that what the public API accepts
the hybrid service accepts too, and both publish the same bounds in their OpenAPI schemas.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import PlainValidator, WithJsonSchema

# Metadata: a small flat map of scalars (accepted and checked; the store does not keep it).
META_KEYS = 32
META_KEY_CHARS = 100
META_TEXT_CHARS = 1_000
META_NUMBER = 2**53 - 1  # the largest integer every JSON parser reads exactly
META_RULE = (
    f"a value is a string of at most {META_TEXT_CHARS} characters, a number from "
    f"-{META_NUMBER} to {META_NUMBER}, true, false or null"
)


def _meta_value_ok(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, str):
        return len(value) <= META_TEXT_CHARS
    if isinstance(value, int | float):
        return math.isfinite(value) and abs(value) <= META_NUMBER
    return False


def _metadata(value: Any) -> dict[str, Any]:
    """One error naming `metadata` and the key at fault (a key can be long: it is cut)."""
    if not isinstance(value, dict):
        raise ValueError("Input should be a valid dictionary")
    if len(value) > META_KEYS:
        raise ValueError(f"at most {META_KEYS} keys, got {len(value)}")
    for key, item in value.items():
        if len(key) > META_KEY_CHARS:
            raise ValueError(f"key {key[:20]!r}... is over {META_KEY_CHARS} characters")
        if not _meta_value_ok(item):
            raise ValueError(f"{key[:20]!r}: {META_RULE}")
    return value


Metadata = Annotated[
    dict[str, Any],
    PlainValidator(_metadata),
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": META_KEYS,
            "propertyNames": {"maxLength": META_KEY_CHARS},
            "additionalProperties": {
                "anyOf": [
                    {"type": "string", "maxLength": META_TEXT_CHARS},
                    {"type": "number", "minimum": -META_NUMBER, "maximum": META_NUMBER},
                    {"type": "boolean"},
                    {"type": "null"},
                ]
            },
        }
    ),
]
METADATA_DESCRIPTION = (
    f"checked, not stored: up to {META_KEYS} keys of at most {META_KEY_CHARS} characters; "
    f"{META_RULE}"
)
