"""Helpers of the client tests: real processes on 127.0.0.1 (sutra-api, the client's Python
server, Debian's nginx running the image's configuration)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sutra.client.bundle import build, write
from sutra.common.testing import (
    HttpService,
    dead_url,
    free_port,
    run_http_service,
    wait_http_ready,
)

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "images" / "sutra-client"
NGINX = os.environ.get("SUTRA_NGINX", "/usr/sbin/nginx")
NOBODY = 65534


def image_env() -> dict[str, str]:
    """The ENV defaults of the image's final stage (NAME=value, quotes removed)."""
    text = re.sub(r"\\\n", " ", (IMAGE / "Dockerfile").read_text())
    final = text[text.rindex("\nFROM ") :]
    found: dict[str, str] = {}
    for line in final.splitlines():
        if line.startswith("ENV "):
            for name, value in re.findall(r'(\w+)=("[^"]*"|\S+)', line[4:]):
                found[name] = value[1:-1] if value.startswith('"') else value
    return found


def envsubst(text: str, env: Mapping[str, str]) -> str:
    """What the image's entrypoint does to a template: every `${NAME}` and `$NAME` of a
    variable that is set and matches NGINX_ENVSUBST_FILTER is replaced; nothing else is."""
    wanted = re.compile(env.get("NGINX_ENVSUBST_FILTER", ""))
    names = sorted((n for n in env if wanted.search(n)), key=len, reverse=True)
    for name in names:
        text = text.replace("${" + name + "}", env[name])
        text = re.sub(r"\$" + name + r"(?![A-Za-z0-9_])", lambda _m, n=name: env[n], text)
    return text


@contextlib.contextmanager
def run_api_alone(log_dir: Path, env: Mapping[str, str] | None = None) -> Iterator[HttpService]:
    """sutra-api, by default with its dependencies down (/health answers, /reason and /stats
    are 503); `env` may point it at running ones."""
    port = free_port()
    child_env = {
        "SUTRA_API_HOST": "127.0.0.1",
        "SUTRA_API_PORT": str(port),
        "SUTRA_STORAGE_SERVER": f"127.0.0.1:{free_port()}",
        "SUTRA_HYBRID_URL": dead_url(),
        "SUTRA_REDIS_URL": "",
        "SUTRA_STORAGE_TIMEOUT": "0.5",
        **(env or {}),
    }
    with run_http_service(
        "sutra.api", env=child_env, port=port, log_path=log_dir / "api.log", ready_path="/health"
    ) as service:
        yield service


@contextlib.contextmanager
def run_client(
    api_url: str, log_dir: Path, env: Mapping[str, str] | None = None
) -> Iterator[HttpService]:
    """`python -m sutra.client` (the local server `sutra up` runs)."""
    port = free_port()
    child_env = {
        "SUTRA_CLIENT_HOST": "127.0.0.1",
        "SUTRA_CLIENT_PORT": str(port),
        "SUTRA_API_URL": api_url,
        **(env or {}),
    }
    with run_http_service(
        "sutra.client",
        env=child_env,
        port=port,
        log_path=log_dir / f"client-{port}.log",
        ready_path="/health",
    ) as service:
        yield service


@dataclass
class Nginx:
    url: str
    root: Path
    config: str  # the rendered server block
    log: Path


def relocate(main_conf: str, root: Path) -> str:
    """The image's nginx.conf with its writable paths moved under `root` (the emptyDirs)."""
    text = re.sub(r"(?<=\s)/tmp/", f"{root}/tmp/", main_conf)
    return text.replace(" /etc/nginx/conf.d/", f" {root}/conf.d/")


@contextlib.contextmanager
def run_nginx(api_url: str, env: Mapping[str, str] | None = None) -> Iterator[Nginx]:
    """Debian's nginx on the image's configuration, serving a bundle from `sutra client build`.

    As in the image it runs unprivileged: as root here it drops to nobody (setpriv), so every
    path it writes must be one the Deployment mounts writable (relocated under a temp dir).
    """
    root = Path(tempfile.mkdtemp(prefix="sutra-nginx-"))
    try:
        root.chmod(0o755)
        for name in ("tmp", "conf.d"):
            (root / name).mkdir()
        write(build(), root / "html")
        variables = {**image_env(), "SUTRA_API_URL": api_url, **(env or {})}
        port = free_port()
        template = IMAGE / "templates" / "sutra-client.conf.template"
        server = envsubst(template.read_text(), variables)
        for old, new in (
            ("listen 8080;", f"listen 127.0.0.1:{port};"),
            ("root /usr/share/nginx/html;", f"root {root}/html;"),
        ):
            assert old in server, old
            server = server.replace(old, new)
        (root / "conf.d" / "sutra-client.conf").write_text(server)
        conf = root / "nginx.conf"
        conf.write_text(relocate((IMAGE / "nginx.conf").read_text(), root))
        log = root / "tmp" / "nginx.log"
        log.touch()
        command = [NGINX, "-p", str(root), "-c", str(conf), "-e", "stderr", "-g", "daemon off;"]
        if os.geteuid() == 0:
            for path in (root / "tmp", log):
                os.chown(path, NOBODY, NOBODY)
            drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
            command = [*drop, *command]
        with open(log, "ab") as out:
            process = subprocess.Popen(command, stdout=out, stderr=out, stdin=subprocess.DEVNULL)
        try:
            try:
                wait_http_ready("127.0.0.1", port, "/health", 20.0, process)  # type: ignore[arg-type]
            except Exception as exc:
                raise RuntimeError(f"nginx: {exc}; log:\n{log.read_text()[-2000:]}") from None
            yield Nginx(f"http://127.0.0.1:{port}", root, server, log)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGQUIT)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)
