"""The Gatekeeper objects against their schemas: templates against the ConstraintTemplate CRD,
constraints against the schema each template defines; `sutra check` runs both."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from sutra.gitops import check
from sutra.gitops.paths import crd_schema_dir
from sutra.gitops.validate import validate_objects

VERSIONS = ("1.37.0",)


def errors(objects: list[dict[str, Any]]) -> list[str]:
    return [str(v) for v in validate_objects(objects, "gatekeeper", VERSIONS, crd_schema_dir())]


def find(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind]
    return found


def test_templates_and_constraints_are_valid(gatekeeper_objects) -> None:
    kinds = sorted(o["kind"] for o in gatekeeper_objects)
    assert kinds.count("ConstraintTemplate") == 5 == len(kinds) - 5
    assert errors(gatekeeper_objects) == []
    schema = crd_schema_dir() / "templates.gatekeeper.sh" / "constrainttemplate_v1.json"
    assert schema.is_file()


def _break_parameters(c: dict[str, Any]) -> None:
    c["spec"]["parameters"]["minVolumeGi"] = "50Gi"
    c["spec"]["parameters"]["minVolume"] = 50
    del c["spec"]["parameters"]["accessMode"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_break_parameters, [
            "spec.parameters: 'accessMode' is a required property",
            "spec.parameters: Additional properties are not allowed ('minVolume' was unexpected)",
            "spec.parameters.minVolumeGi: '50Gi' is not of type 'integer'",
        ]),
        (lambda c: c["spec"].update(enforcementAction="block"),
         ["spec.enforcementAction: 'block' is not one of ['deny', 'dryrun', 'warn', 'scoped']"]),
        (lambda c: c["spec"]["match"].update(namespace="sutra-ai"),
         ["spec.match: Additional properties are not allowed ('namespace' was unexpected)"]),
    ],
)  # fmt: skip
def test_a_broken_constraint_fails_its_template_schema(gatekeeper_objects, change, expected):
    templates = [o for o in gatekeeper_objects if o["kind"] == "ConstraintTemplate"]
    constraint = copy.deepcopy(find(gatekeeper_objects, "SutraStorageSingleWriter"))
    change(constraint)
    prefix = "gatekeeper SutraStorageSingleWriter/storage-single-writer: "
    assert errors([*templates, constraint]) == [f"{prefix}{m} [schema]" for m in expected]


def test_a_constraint_without_its_template_fails(gatekeeper_objects) -> None:
    (line,) = errors([find(gatekeeper_objects, "SutraImagePinned")])
    assert "no ConstraintTemplate here defines the constraint kind SutraImagePinned" in line


def test_a_template_gatekeeper_would_refuse_fails(gatekeeper_objects) -> None:
    template = copy.deepcopy(
        next(o for o in gatekeeper_objects if o["metadata"]["name"] == "sutraimagepinned")
    )
    template["metadata"]["name"] = "image-pinned"
    template["spec"]["targets"][0]["rego"] = "package x"
    template["spec"]["targets"][0]["code"][0]["source"]["version"] = "v2"
    template["spec"]["crd"]["spec"]["names"]["plural"] = "x"
    found = [line.split(": ", 1)[1] for line in errors([template])]
    assert found == [
        "spec.crd.spec.names: Additional properties are not allowed ('plural' was unexpected) "
        "[schema]",
        "metadata.name: must be 'sutraimagepinned', the lowercase of the kind [schema]",
        "spec.targets[0]: give the Rego either in rego or in code, exactly once [schema]",
        "spec.targets[0].code[Rego].source.version: must be one of v0, v1 [schema]",
    ]


def test_sutra_check_fails_on_a_broken_constraint(checkout: Path) -> None:
    path = checkout / "gatekeeper" / "constraints" / "storage-single-writer.yaml"
    path.write_text(path.read_text().replace("minVolumeGi: 50", "minVolumeGi: fifty"))
    reports = check.check(["low"], list(VERSIONS), checkout)
    assert [r.target for r in reports] == ["low", "eu-west/low", "regions", "argocd", "gatekeeper"]
    lines = [str(v) for v in reports[-1].violations]
    assert lines == [
        "gatekeeper SutraStorageSingleWriter/storage-single-writer: spec.parameters.minVolumeGi: "
        "'fifty' is not of type 'integer' [schema]",
        "gatekeeper File/gatekeeper/constraints/storage-single-writer.yaml: is out of date with "
        "policies/: run `sutra gatekeeper generate` [generated]",
    ]
    assert not any(r.violations for r in reports[:-1])
    verdict = (
        "2 violations in 1 of 1 tier, 1 region overlay, regions/, argocd/ and gatekeeper/ "
        "(gatekeeper)"
    )
    assert check.verdict(reports) == verdict
