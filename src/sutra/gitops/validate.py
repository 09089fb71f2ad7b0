"""Strict schema validation of rendered objects, for every Kubernetes version we support.

Built-in kinds are checked with kubernetes-validate in strict mode (unknown fields are errors,
which catches a mis-indented key that the API server would silently drop). Custom resources
(any apiVersion group that Kubernetes does not serve itself, e.g. argoproj.io) are checked
against the CRD JSON schemas in `crd_schema_dir()`; a custom kind without a schema is an error,
never a silent pass. Custom resources are strict too: the catalog's schemas leave the top level
and `metadata` open, where the API server would silently prune a misplaced key (a ServiceMonitor's
`endpoints` beside `spec`, `metadata.label`), so unknown top-level fields are errors and
`metadata` is checked as the Kubernetes ObjectMeta it is. Gatekeeper constraints, whose CRDs
Gatekeeper makes from the templates, are checked against the schema derived from their
ConstraintTemplate among the same objects.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sutra.gitops import gatekeeper_schema
from sutra.gitops.policy import Violation

# Current and previous Kubernetes minor: what the clusters may run during an upgrade.
DEFAULT_KUBE_VERSIONS: tuple[str, ...] = ("1.36.0", "1.37.0")
KUBE_VERSIONS_ENV = "SUTRA_KUBE_VERSIONS"
RULE = "schema"
_MAX_MESSAGE = 240

# API groups served by kube-apiserver itself; everything else is a custom resource.
BUILTIN_GROUPS: frozenset[str] = frozenset(
    {
        "",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "apps",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "autoscaling",
        "batch",
        "certificates.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "flowcontrol.apiserver.k8s.io",
        "internal.apiserver.k8s.io",
        "networking.k8s.io",
        "node.k8s.io",
        "policy",
        "rbac.authorization.k8s.io",
        "resource.k8s.io",
        "scheduling.k8s.io",
        "storage.k8s.io",
        "storagemigration.k8s.io",
    }
)


class ValidationSetupError(RuntimeError):
    """The validation itself cannot run (unsupported version, no CRD schema folder)."""


def kube_versions(flags: Sequence[str] | None = None) -> tuple[str, ...]:
    """Versions to validate against: --kube-version flags, else $SUTRA_KUBE_VERSIONS, else both
    the current and the previous minor."""
    if flags:
        chosen = tuple(flags)
    elif env := os.environ.get(KUBE_VERSIONS_ENV, "").replace(",", " ").split():
        chosen = tuple(env)
    else:
        chosen = DEFAULT_KUBE_VERSIONS
    return tuple(_supported(version) for version in dict.fromkeys(chosen))


def _supported(version: str) -> str:
    from kubernetes_validate import utils

    bare = version.removeprefix("v")
    minor = utils.major_minor(bare)
    available = {utils.major_minor(v) for v in utils.all_versions()}
    if minor not in available:
        newest = utils.latest_version()
        raise ValidationSetupError(
            f"Kubernetes {version} is not supported by kubernetes-validate (newest: {newest})"
        )
    return bare


@functools.cache
def _cache_kubernetes_schemas() -> None:
    """kubernetes-validate re-reads its multi-megabyte definitions file for every object; the
    files are read-only package data, so parsing each once makes a full check ~10x faster."""
    from kubernetes_validate import utils

    utils.schema_contents = functools.lru_cache(maxsize=None)(utils.schema_contents)


def api_group(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def is_custom(obj: dict[str, Any]) -> bool:
    return api_group(str(obj.get("apiVersion", ""))) not in BUILTIN_GROUPS


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(object)"


def _short(message: str) -> str:
    message = " ".join(message.split())
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."


def _identity(obj: dict[str, Any]) -> tuple[str, str]:
    kind = str(obj.get("kind") or "<no kind>")
    name = str((obj.get("metadata") or {}).get("name") or "<unnamed>")
    return kind, name


def _builtin_errors(obj: dict[str, Any], versions: Sequence[str]) -> list[str]:
    import kubernetes_validate
    from kubernetes_validate import utils

    _cache_kubernetes_schemas()
    by_message: dict[str, list[str]] = {}
    for version in versions:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except utils.ValidationError as exc:
            message = f"{_path(exc.absolute_path)}: {_short(exc.message)}"
        except utils.SchemaNotFoundError:
            message = f"no schema for {obj.get('apiVersion')} {obj.get('kind')}"
        except utils.VersionNotSupportedError as exc:
            raise ValidationSetupError(f"Kubernetes {exc.version} is not supported") from exc
        else:
            continue
        by_message.setdefault(message, []).append(utils.major_minor(version))
    return [f"{m} (Kubernetes {', '.join(vs)})" for m, vs in by_message.items()]


@functools.cache
def _crd_validator(schema_file: Path) -> Any:
    import jsonschema

    schema = json.loads(schema_file.read_text())
    if "properties" in schema and "additionalProperties" not in schema:
        schema = {**schema, "additionalProperties": False}
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema)


def crd_schema_file(obj: dict[str, Any], schema_dir: Path) -> Path:
    group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
    return schema_dir / group / f"{str(obj.get('kind', '')).lower()}_{version}.json"


def _metadata_errors(obj: dict[str, Any], versions: Sequence[str]) -> list[str]:
    """ObjectMeta errors of a custom resource, found by validating its metadata on a ConfigMap
    (an object with nothing but metadata) with the built-in, strict schemas."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        return []  # the CRD schema reports a missing or non-object metadata
    return _builtin_errors(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}, versions
    )


def _schema_errors(validator: Any, obj: dict[str, Any]) -> list[str]:
    errors = sorted(validator.iter_errors(obj), key=lambda e: list(e.path))
    return [f"{_path(e.absolute_path)}: {_short(e.message)}" for e in errors]


def _constraint_errors(obj: dict[str, Any], schemas: dict[str, dict[str, Any]]) -> list[str]:
    import jsonschema

    schema = schemas.get(str(obj.get("kind")))
    if schema is None:
        return [f"no ConstraintTemplate here defines the constraint kind {obj.get('kind')}"]
    return _schema_errors(jsonschema.Draft7Validator(schema), obj)


def _custom_errors(obj: dict[str, Any], schema_dir: Path, versions: Sequence[str]) -> list[str]:
    if not schema_dir.is_dir():
        raise ValidationSetupError(
            f"CRD schema folder {schema_dir} not found (set SUTRA_CRD_SCHEMA_DIR)"
        )
    schema_file = crd_schema_file(obj, schema_dir)
    if not schema_file.is_file():
        return [
            f"no CRD schema for {obj.get('apiVersion')} {obj.get('kind')} "
            f"(expected {schema_file.relative_to(schema_dir)} in {schema_dir})"
        ]
    errors = _schema_errors(_crd_validator(schema_file), obj) + _metadata_errors(obj, versions)
    if gatekeeper_schema.is_template(obj):
        errors.extend(gatekeeper_schema.template_errors(obj))
    return errors


def validate_objects(
    objects: Iterable[dict[str, Any]],
    tier: str,
    versions: Sequence[str],
    schema_dir: Path,
) -> list[Violation]:
    """Schema violations of every object (rule `schema`), in input order."""
    found: list[Violation] = []
    objects = list(objects)
    constraint_schemas = gatekeeper_schema.constraint_schemas(objects)
    for obj in objects:
        kind, name = _identity(obj)
        if not obj.get("apiVersion") or not obj.get("kind"):
            messages = ["object without apiVersion or kind"]
        elif gatekeeper_schema.is_constraint(obj):
            messages = _constraint_errors(obj, constraint_schemas)
        elif is_custom(obj):
            messages = _custom_errors(obj, schema_dir, versions)
        else:
            messages = _builtin_errors(obj, versions)
        found.extend(
            Violation(tier=tier, kind=kind, name=name, message=m, rule=RULE) for m in messages
        )
    return found
