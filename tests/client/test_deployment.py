"""The Deployment runs the image as its nginx configuration needs: read-only root, every path
nginx writes on an emptyDir, every variable the template uses set, probes on what nginx serves,
as many nginx workers as the CPU limit pays for."""

from __future__ import annotations

import math
import re
from pathlib import PurePosixPath

import pytest
import yaml

from sutra.gitops.paths import TIERS
from sutra.gitops.quantities import parse_quantity
from sutra.gitops.render import render_tier

from .support import IMAGE, REPO, image_env

TEMPLATE = (IMAGE / "templates" / "sutra-client.conf.template").read_text()
MAIN = (IMAGE / "nginx.conf").read_text()


def container() -> tuple[dict, dict]:
    deployment = yaml.safe_load((REPO / "base" / "sutra-client" / "deployment.yaml").read_text())
    pod = deployment["spec"]["template"]["spec"]
    (main,) = pod["containers"]
    return pod, main


def writable_paths() -> list[str]:
    """What nginx writes: its pid file, its temp directories, the rendered template."""
    paths = re.findall(r"^\s*(?:pid|\w+_temp_path)\s+(\S+);", MAIN, re.M)
    assert len(paths) == 6, paths  # pid + client body, proxy, fastcgi, uwsgi, scgi
    return [*paths, "/etc/nginx/conf.d/sutra-client.conf"]


def test_root_is_read_only_and_every_written_path_is_an_empty_dir() -> None:
    pod, main = container()
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    assert main["securityContext"]["runAsUser"] == 10001
    empty = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
    mounts = [PurePosixPath(m["mountPath"]) for m in main["volumeMounts"] if m["name"] in empty]
    for path in writable_paths():
        assert any(PurePosixPath(path).is_relative_to(m) for m in mounts), path
    assert f"include {writable_paths()[-1]};" in MAIN


def test_the_template_variables_are_set_by_the_image_and_the_deployment() -> None:
    used = set(re.findall(r"\$\{(SUTRA_\w+)\}", TEMPLATE))
    assert used == {"SUTRA_API_URL", "SUTRA_API_BASE", "SUTRA_REAL_IP_FROM"}
    _, main = container()
    env = {e["name"]: e["value"] for e in main["env"]}
    assert used <= set(env)
    assert used <= set(image_env())
    assert env["SUTRA_API_URL"] == "http://sutra-api:8000"
    # nginx's own variables are never substituted by the entrypoint
    wanted = re.compile(image_env()["NGINX_ENVSUBST_FILTER"])
    assert all(wanted.search(name) for name in used)
    assert not any(wanted.search(name) for name in ("uri", "host", "HOSTNAME", "PATH"))


def test_ports_and_probes_match_what_nginx_serves() -> None:
    _, main = container()
    (port,) = main["ports"]
    assert f"listen {port['containerPort']};" in TEMPLATE
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        path = main[probe]["httpGet"]["path"]
        assert f"location = {path} {{" in TEMPLATE


def worker_processes(main_conf: str) -> int:
    (value,) = re.findall(r"^worker_processes\s+(\S+);", main_conf, re.M)
    assert value.isdigit(), f"worker_processes {value}: `auto` counts the node's CPUs"
    return int(value)


def test_worker_processes_is_a_number_that_rejects_auto() -> None:
    assert worker_processes(MAIN) >= 1
    with pytest.raises(AssertionError, match="node's CPUs"):
        worker_processes(MAIN.replace(f"worker_processes {worker_processes(MAIN)};",
                                      "worker_processes auto;"))  # fmt: skip


@pytest.mark.parametrize("tier", TIERS)
def test_nginx_runs_as_many_workers_as_the_cpu_limit_of_every_tier(tier: str) -> None:
    """One worker per whole CPU of the limit, at least one: more would share the same quota
    and be throttled, fewer would leave paid-for CPU idle."""
    (deployment,) = [
        o for o in render_tier(tier)
        if o["kind"] == "Deployment" and o["metadata"]["name"] == "sutra-client"
    ]  # fmt: skip
    (main,) = deployment["spec"]["template"]["spec"]["containers"]
    limit = parse_quantity(main["resources"]["limits"]["cpu"])
    assert worker_processes(MAIN) == max(1, math.floor(limit)), (tier, limit)
