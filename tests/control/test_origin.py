"""Other websites cannot read the dashboard through the operator's browser: without a token
only loopback names are answered (DNS rebinding), and the live feed refuses a WebSocket opened
by another origin's page, token or not (cross-site WebSocket hijacking). A real dashboard
process, real httpx and websockets clients sending what such a browser would send."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from sutra.common.testing import HttpService, dead_url, free_port

from .support import TOKEN, UpStack, next_push, run_control, websocket

AUTH = {"Authorization": f"Bearer {TOKEN}"}
SERVICES = ("storage-server", "sutra-hybrid", "sutra-api")


@pytest.fixture(scope="module")
def open_dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpService]:
    """sutra-control without a token (open, loopback only), every service down."""
    env = {
        "SUTRA_CONTROL_TOKEN": "",
        "SUTRA_STORAGE_SERVER": f"127.0.0.1:{free_port()}",
        "SUTRA_STORAGE_METRICS_URL": dead_url() + "/metrics",
        "SUTRA_HYBRID_URL": dead_url(),
        "SUTRA_API_URL": dead_url(),
    }
    with run_control(env, tmp_path_factory.mktemp("open-control")) as control:
        yield control


def refused(status: int, **kwargs: object) -> InvalidStatus:
    """Open the WebSocket expecting the handshake to be refused with `status`."""
    with pytest.raises(InvalidStatus) as info, websocket(**kwargs):  # type: ignore[arg-type]
        pass
    assert info.value.response.status_code == status, kwargs
    return info.value


def test_without_a_token_only_loopback_names_are_answered(open_dashboard: HttpService) -> None:
    url, port = open_dashboard.url, open_dashboard.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}"):
        reply = httpx.get(url + "/api/services", headers={"Host": host})
        assert reply.status_code == 200, (host, reply.text)
    # A rebound name: the browser thinks it talks to that site, and sends its name.
    for host in (f"rebind.example:{port}", "rebind.example", f"127.0.0.1.nip.io:{port}"):
        for path in ("/api/services", "/api/metrics", "/"):
            reply = httpx.get(url + path, headers={"Host": host})
            assert reply.status_code == 400, (host, path)
            error = reply.json()["error"]
            assert error["field"] == "Host" and "127.0.0.1, localhost or [::1]" in error["message"]
            assert reply.headers["x-content-type-options"] == "nosniff"
        denied = refused(400, url=url, token=None, host=host)
        assert b'"field":"Host"' in denied.response.body
    with websocket(url, token=None, host=f"localhost:{port}") as ws:
        assert set(next_push(ws)) == {"health", "metrics", "timestamp", "interval"}


def test_without_a_token_another_origin_cannot_open_the_live_feed(
    open_dashboard: HttpService,
) -> None:
    url, port = open_dashboard.url, open_dashboard.port
    for origin in (
        "https://evil.example",
        f"http://127.0.0.1:{port + 1 if port < 65535 else port - 1}",  # another local app
        f"https://127.0.0.1:{port}",  # another scheme
        f"http://localhost:{port}",  # another name: another origin to the browser
        "null",  # a sandboxed frame or a file: page
    ):
        denied = refused(403, url=url, token=None, origin=origin)
        assert b'"field":"Origin"' in denied.response.body, origin
    # The page's own origin, as the browser sends it; and a client that is no browser.
    with websocket(url, token=None, origin=f"http://127.0.0.1:{port}") as ws:
        assert set(next_push(ws)) == {"health", "metrics", "timestamp", "interval"}
    with websocket(url, token=None, origin=f"http://localhost:{port}", host=f"localhost:{port}"):
        pass
    with websocket(url, token=None):
        pass


def test_with_a_token_another_origin_is_refused_even_with_the_token(stack: UpStack) -> None:
    url = stack.control
    port = stack.env["SUTRA_CONTROL_PORT"]
    refused(403, url=url, origin="https://evil.example")
    refused(403, url=url, origin="https://evil.example", header=True)
    with websocket(url, origin=f"http://127.0.0.1:{port}") as ws:
        assert set(next_push(ws)) == {"health", "metrics", "timestamp", "interval"}
    # A token guards the data: any name may reach it (an ingress, a port-forward).
    assert httpx.get(url + "/api/auth", headers={"Host": "dashboard.example"}).status_code == 200
    assert httpx.get(url + "/api/services", headers=AUTH).status_code == 200


def test_services_read_directly_whatever_proxy_the_environment_names(
    stack: UpStack, tmp_path: Path
) -> None:
    """An HTTP(S)_PROXY in the dashboard's environment (a laptop's, a node's) is not used to
    read the services: through this dead one every service would read as down."""
    proxy = dead_url()
    env = {
        "SUTRA_STORAGE_SERVER": f"127.0.0.1:{stack.env['SUTRA_STORAGE_PORT']}",
        "SUTRA_STORAGE_METRICS_URL": f"{stack.url('SUTRA_METRICS_PORT')}/metrics",
        "SUTRA_HYBRID_URL": stack.url("SUTRA_HYBRID_PORT"),
        "SUTRA_API_URL": stack.api,
        "HTTP_PROXY": proxy,
        "HTTPS_PROXY": proxy,
        "ALL_PROXY": proxy,
        "NO_PROXY": "",
    }
    with run_control(env, tmp_path) as control, websocket(control.url, token=None) as ws:
        health = next_push(ws)["health"]
    for name in SERVICES:
        assert health[name]["status"] == "up", (name, health[name]["reason"])
