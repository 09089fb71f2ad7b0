"""Which services make up the local stack, in start order, and how each says it is ready.

A service joins the stack when its package is installed (`python -m sutra.<module>` exists), so
the stack grows with the repository without editing this table's consumers.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Service:
    name: str  # the Kubernetes workload name, used as the log prefix
    module: str  # run as `python -m <module>`
    port_env: str  # the variable that sets its main port
    default_port: int
    health: str  # "grpc" (grpc.health.v1) or an HTTP path answering 200 when ready
    extra_ports: dict[str, int] = field(default_factory=dict)  # other variables -> default
    # This member's own variables, over the stack's (a second storage server's port and path)
    env: dict[str, str] = field(default_factory=dict)

    def _get(self, environ: os._Environ[str] | dict[str, str], variable: str, default: int) -> int:
        return int(self.env.get(variable) or environ.get(variable, default))

    def port(self, environ: os._Environ[str] | dict[str, str]) -> int:
        return self._get(environ, self.port_env, self.default_port)

    def ports(self, environ: os._Environ[str] | dict[str, str]) -> dict[str, int]:
        found = {self.port_env: self.port(environ)}
        for variable, default in self.extra_ports.items():
            found[variable] = self._get(environ, variable, default)
        return {k: v for k, v in found.items() if v}

    @property
    def available(self) -> bool:
        try:
            return importlib.util.find_spec(f"{self.module}.__main__") is not None
        except ModuleNotFoundError:
            return False


STACK: tuple[Service, ...] = (
    Service(
        "storage-server",
        "sutra.storage",
        "SUTRA_STORAGE_PORT",
        50051,
        "grpc",
        {"SUTRA_METRICS_PORT": 9091},
    ),
    Service("sutra-hybrid", "sutra.hybrid", "SUTRA_HYBRID_PORT", 8001, "/ready"),
    Service("sutra-api", "sutra.api", "SUTRA_API_PORT", 8000, "/ready"),
    Service("sutra-control", "sutra.control", "SUTRA_CONTROL_PORT", 9000, "/ready"),
    Service("sutra-client", "sutra.client", "SUTRA_CLIENT_PORT", 8080, "/health"),
)


def installed() -> list[Service]:
    return [s for s in STACK if s.available]
