"""Find every request value an OpenAPI document leaves without an upper bound.

Shared by the tests of each HTTP service (api, hybrid, control). Only what a client sends is
walked: each operation's parameters and request body, `$ref`s resolved. A value is bounded
when it is
- a number (`integer`, `number`) with a maximum and a minimum (exclusive or not);
- an array with `maxItems` (and bounded items);
- a string with `maxLength`, an `enum`/`const`, or an anchored pattern without unbounded
  repetition (`^[0-9a-f]{32}$`);
- an object whose named properties are bounded; a free-form map (`additionalProperties`)
  also needs `maxProperties`, `propertyNames` with `maxLength`, and bounded values;
- a boolean or null.
A schema that allows any value (`{}`, `true`) is unbounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_STRUCTURE = {"type", "$ref", "anyOf", "oneOf", "allOf", "enum", "const", "not", "properties"}
# Repetition without an upper limit: *, + and {n,} (escaped characters are removed first).
_UNBOUNDED_REPEAT = re.compile(r"[*+]|\{\d*,\}")


def unbounded(document: dict[str, Any]) -> list[str]:
    """`WHERE: what is missing` for every unbounded value a request can carry."""
    problems: list[str] = []
    for path, item in document.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            where = f"{method.upper()} {path}"
            for parameter in [*shared, *operation.get("parameters", [])]:
                parameter = resolve(document, parameter)
                name = f"{where} {parameter['in']} {parameter['name']}"
                walk(document, parameter.get("schema", True), name, problems)
            body = resolve(document, operation.get("requestBody", {}))
            for media, content in body.get("content", {}).items():
                walk(document, content.get("schema", True), f"{where} body ({media})", problems)
    return problems


def resolve(document: dict[str, Any], node: Any) -> Any:
    """Follow a local `$ref` (`#/components/...`) to what it names."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def walk(
    document: dict[str, Any],
    schema: Any,
    where: str,
    problems: list[str],
    seen: frozenset[str] = frozenset(),
) -> None:
    """Append to `problems` what `schema` (at `where`) leaves unbounded."""
    if schema is False:
        return
    if schema is True or not (set(schema) & _STRUCTURE):
        problems.append(f"{where}: any value is allowed")
        return
    if "$ref" in schema:
        ref = schema["$ref"]
        if ref not in seen:  # a recursive model is walked once per path
            walk(document, resolve(document, schema), where, problems, seen | {ref})
        return
    for keyword in ("anyOf", "oneOf"):
        for branch in schema.get(keyword, []):
            walk(document, branch, where, problems, seen)
    if "allOf" in schema:
        _walk_all_of(document, schema["allOf"], where, problems, seen)
    if "enum" in schema or "const" in schema:
        return
    types = schema.get("type", [])
    for kind in [types] if isinstance(types, str) else types:
        _check_type(document, schema, kind, where, problems, seen)


def _walk_all_of(
    document: dict[str, Any], parts: list[Any], where: str, problems: list[str], seen: frozenset
) -> None:
    """All must hold, so one bounded part bounds the value; annotation-only parts add nothing."""
    found: list[list[str]] = []
    for part in parts:
        if isinstance(part, dict) and not (set(part) & _STRUCTURE):
            continue
        part_problems: list[str] = []
        walk(document, part, where, part_problems, seen)
        found.append(part_problems)
    if found and all(found):
        problems.extend(found[0])


def _check_type(
    document: dict[str, Any],
    schema: dict[str, Any],
    kind: str,
    where: str,
    problems: list[str],
    seen: frozenset[str],
) -> None:
    if kind in ("integer", "number"):
        if "maximum" not in schema and "exclusiveMaximum" not in schema:
            problems.append(f"{where}: {kind} without a maximum")
        if "minimum" not in schema and "exclusiveMinimum" not in schema:
            problems.append(f"{where}: {kind} without a minimum")
    elif kind == "string":
        if "maxLength" not in schema and not bounded_pattern(schema.get("pattern")):
            problems.append(f"{where}: string without maxLength")
    elif kind == "array":
        if "maxItems" not in schema:
            problems.append(f"{where}: array without maxItems")
        walk(document, schema.get("items", True), f"{where}[]", problems, seen)
        for i, item in enumerate(schema.get("prefixItems", [])):
            walk(document, item, f"{where}[{i}]", problems, seen)
    elif kind == "object":
        _check_object(document, schema, where, problems, seen)


def _check_object(
    document: dict[str, Any],
    schema: dict[str, Any],
    where: str,
    problems: list[str],
    seen: frozenset[str],
) -> None:
    for name, child in schema.get("properties", {}).items():
        walk(document, child, f"{where}.{name}", problems, seen)
    extra = schema.get("additionalProperties", "properties" not in schema)
    if extra is False:
        return
    if "maxProperties" not in schema:
        problems.append(f"{where}: object without maxProperties")
    names = schema.get("propertyNames", {})
    if "maxLength" not in names and not bounded_pattern(names.get("pattern")):
        problems.append(f"{where}: object keys without maxLength")
    walk(document, extra, f"{where}.*", problems, seen)


def bounded_pattern(pattern: str | None) -> bool:
    """An anchored pattern with only bounded repetition limits a string's length."""
    if not pattern or not (pattern.startswith("^") and pattern.endswith("$")):
        return False
    return not _UNBOUNDED_REPEAT.search(re.sub(r"\\.", "", pattern))


# ------------------------------------------------------- requests just past each bound


@dataclass
class Request:
    path: str
    params: dict[str, Any]
    body: dict[str, Any] | None


@dataclass
class OverTheBound:
    """A valid request, and the same with one field just past its upper bound."""

    method: str
    template: str
    field: str
    valid: Request
    past: Request

    def __str__(self) -> str:
        return f"{self.method} {self.template} {self.field}"


def over_the_bounds(document: dict[str, Any]) -> list[OverTheBound]:
    """For every parameter and top-level body field with an upper bound, one case."""
    cases = []
    for template, item in document.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            parameters = [resolve(document, p) for p in operation.get("parameters", [])]
            body_schema = _json_body(document, operation)
            params = {p["name"]: valid(document, p["schema"]) for p in parameters}
            params = {k: v for k, v in params.items() if v is not None}
            body = valid(document, body_schema) if body_schema is not None else None
            fields = [(p["name"], p["schema"], True) for p in parameters]
            if body_schema is not None:
                props = resolve(document, body_schema).get("properties", {})
                fields += [(name, schema, False) for name, schema in props.items()]
            for name, schema, is_param in fields:
                value = past(document, schema)
                if value is None:
                    continue
                wrong = (
                    _request(template, {**params, name: value}, body)
                    if is_param
                    else _request(template, params, {**body, name: value})
                )
                ok = _request(template, params, body)
                cases.append(OverTheBound(method.upper(), template, name, ok, wrong))
    return cases


def _request(template: str, params: dict[str, Any], body: dict[str, Any] | None) -> Request:
    """The path parameters go into the path, the others into the query string."""
    query = dict(params)
    path = template
    for name in re.findall(r"\{(\w+)\}", template):
        path = path.replace("{" + name + "}", str(query.pop(name)))
    return Request(path, query, body)


def _json_body(document: dict[str, Any], operation: dict[str, Any]) -> Any:
    content = resolve(document, operation.get("requestBody", {})).get("content", {})
    return content.get("application/json", {}).get("schema")


def _branch(document: dict[str, Any], schema: Any) -> dict[str, Any]:
    """The schema itself, or for a union the first branch that is not null."""
    schema = resolve(document, schema)
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            branches = [resolve(document, b) for b in schema[keyword]]
            return next(b for b in branches if b.get("type") != "null")
    return schema  # type: ignore[no-any-return]


def valid(document: dict[str, Any], schema: Any) -> Any:
    """A small value the schema accepts: defaults are left out (None), required ones made."""
    schema = _branch(document, schema)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind in ("integer", "number"):
        value = schema.get("minimum", schema.get("maximum", 0))
        return int(value) if kind == "integer" else value
    if kind == "string":
        return _valid_string(schema)
    if kind == "array":
        return [valid(document, schema["items"])] * schema.get("minItems", 0)
    if kind == "object":
        required = schema.get("required", [])
        return {name: valid(document, schema["properties"][name]) for name in required}
    return None


def _valid_string(schema: dict[str, Any]) -> str:
    """The schema's example, else a run of one character as long as it must be."""
    if schema.get("examples"):
        return str(schema["examples"][0])
    pattern = schema.get("pattern")
    fixed = re.search(r"\{(\d+)\}", pattern or "")
    length = int(fixed.group(1)) if fixed else max(1, schema.get("minLength", 1))
    for text in ("a" * length, "0" * length):
        if pattern is None or re.search(pattern, text):
            return text
    raise AssertionError(f"no simple value matches {pattern!r}: give the field an example")


def past(document: dict[str, Any], schema: Any) -> Any:
    """A value just past the schema's upper bound (None: it has none to pass)."""
    schema = _branch(document, schema)
    kind = schema.get("type")
    if kind == "integer" and "maximum" in schema:
        return int(schema["maximum"]) + 1
    if kind == "number" and "maximum" in schema:
        return schema["maximum"] + 1
    if kind == "string" and "maxLength" in schema:
        return "a" * (schema["maxLength"] + 1)
    if kind == "array" and "maxItems" in schema:
        return [valid(document, schema["items"])] * (schema["maxItems"] + 1)
    if kind == "object" and "maxProperties" in schema:
        return {f"k{i}": None for i in range(schema["maxProperties"] + 1)}
    return None
