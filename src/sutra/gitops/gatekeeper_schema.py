"""The schema a Gatekeeper Constraint is validated against, derived from its ConstraintTemplate.

A Constraint's CRD does not exist until Gatekeeper reads the template, so no schema catalogue
holds it: Gatekeeper builds it from the constraint shape every kind shares (`match`,
`enforcementAction`, `parameters`) with `spec.parameters` taken from the template's
`spec.crd.spec.validation.openAPIV3Schema`. The same is done here, for the templates among the
objects being validated. Fields the API server would prune (not in the schema) are errors, as
with kubernetes-validate's strict mode: a misspelt parameter would otherwise vanish silently.

The ConstraintTemplate CRD schema cannot say a few things Gatekeeper insists on; those are
checked by `template_errors`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

CONSTRAINT_GROUP = "constraints.gatekeeper.sh"
CONSTRAINT_VERSIONS = ("v1beta1", "v1", "v1alpha1")
TEMPLATE_GROUP = "templates.gatekeeper.sh"
TEMPLATE_KIND = "ConstraintTemplate"
ADMISSION_TARGET = "admission.k8s.gatekeeper.sh"
ENFORCEMENT_ACTIONS = ("deny", "dryrun", "warn", "scoped")
REGO_VERSIONS = ("v0", "v1")

_STRINGS = {"type": "array", "items": {"type": "string"}}
_LABEL_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "matchExpressions": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["key", "operator"],
                "properties": {
                    "key": {"type": "string"},
                    "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                    "values": _STRINGS,
                },
            },
        },
    },
}
_MATCH = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "kinds": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"apiGroups": _STRINGS, "kinds": _STRINGS},
            },
        },
        "scope": {"enum": ["*", "Cluster", "Namespaced"]},
        "namespaces": _STRINGS,
        "excludedNamespaces": _STRINGS,
        "labelSelector": _LABEL_SELECTOR,
        "namespaceSelector": _LABEL_SELECTOR,
        "name": {"type": "string"},
        "source": {"enum": ["All", "Generated", "Original"]},
    },
}
_SCOPED_ACTIONS = {
    "type": "array",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "action": {"type": "string"},
            "enforcementPoints": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"name": {"type": "string"}},
                },
            },
        },
    },
}


def api_group(obj: dict[str, Any]) -> str:
    return str(obj.get("apiVersion", "")).rpartition("/")[0]


def is_constraint(obj: dict[str, Any]) -> bool:
    return api_group(obj) == CONSTRAINT_GROUP


def is_template(obj: dict[str, Any]) -> bool:
    return api_group(obj) == TEMPLATE_GROUP and obj.get("kind") == TEMPLATE_KIND


def _strict(schema: Any) -> Any:
    """An openAPIV3Schema with unknown fields forbidden where the API server would prune them."""
    if not isinstance(schema, dict):
        return schema
    nested = ("items", "additionalProperties")
    out = {k: _strict(v) if k in nested else v for k, v in schema.items()}
    if "properties" in schema:
        out["properties"] = {k: _strict(v) for k, v in schema["properties"].items()}
        if not schema.get("x-kubernetes-preserve-unknown-fields"):
            out.setdefault("additionalProperties", False)
    return out


def constraint_schema(template: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of the Constraint kind a ConstraintTemplate defines."""
    crd_spec = ((template.get("spec") or {}).get("crd") or {}).get("spec") or {}
    parameters = (crd_spec.get("validation") or {}).get("openAPIV3Schema")
    parameters = _strict(parameters) if parameters else {"type": "object"}
    kind = (crd_spec.get("names") or {}).get("kind", "")
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {
            "apiVersion": {"enum": [f"{CONSTRAINT_GROUP}/{v}" for v in CONSTRAINT_VERSIONS]},
            "kind": {"const": kind},
            "metadata": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string", "maxLength": 63}},
            },
            "spec": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "enforcementAction": {"enum": list(ENFORCEMENT_ACTIONS)},
                    "scopedEnforcementActions": _SCOPED_ACTIONS,
                    "match": _MATCH,
                    "parameters": parameters,
                },
            },
            "status": {"type": "object"},
        },
    }


def constraint_schemas(objects: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Constraint kind -> its JSON schema, for every ConstraintTemplate among the objects."""
    found = {}
    for obj in objects:
        if is_template(obj):
            kind = (((obj.get("spec") or {}).get("crd") or {}).get("spec") or {}).get("names", {})
            if isinstance(kind, dict) and kind.get("kind"):
                found[str(kind["kind"])] = constraint_schema(obj)
    return found


def template_errors(template: dict[str, Any]) -> list[str]:
    """What Gatekeeper would refuse in a ConstraintTemplate that its CRD schema lets through."""
    errors = []
    spec = template.get("spec") or {}
    kind = str((((spec.get("crd") or {}).get("spec") or {}).get("names") or {}).get("kind", ""))
    name = str((template.get("metadata") or {}).get("name", ""))
    if not kind:
        errors.append("spec.crd.spec.names.kind: required")
    elif name != kind.lower():
        errors.append(f"metadata.name: must be {kind.lower()!r}, the lowercase of the kind")
    targets = spec.get("targets") or []
    if len(targets) != 1:
        errors.append("spec.targets: exactly one target is supported")
    for i, target in enumerate(targets):
        where = f"spec.targets[{i}]"
        if target.get("target") != ADMISSION_TARGET:
            errors.append(f"{where}.target: must be {ADMISSION_TARGET}")
        rego_code = [c for c in target.get("code") or [] if c.get("engine") == "Rego"]
        if bool(target.get("rego")) == bool(rego_code):
            errors.append(f"{where}: give the Rego either in rego or in code, exactly once")
        for code in rego_code:
            errors.extend(_source_errors(code.get("source"), f"{where}.code[Rego].source"))
    return errors


def _source_errors(source: Any, where: str) -> list[str]:
    if not isinstance(source, dict):
        return [f"{where}: must be an object with rego, libs and version"]
    errors = []
    unknown = sorted(set(source) - {"rego", "libs", "version"})
    if unknown:
        errors.append(f"{where}: unknown fields {', '.join(unknown)}")
    if not isinstance(source.get("rego"), str) or not source["rego"].strip():
        errors.append(f"{where}.rego: required")
    libs = source.get("libs", [])
    if not isinstance(libs, list) or not all(isinstance(lib, str) for lib in libs):
        errors.append(f"{where}.libs: must be a list of strings")
    if source.get("version", "v0") not in REGO_VERSIONS:
        errors.append(f"{where}.version: must be one of {', '.join(REGO_VERSIONS)}")
    return errors
