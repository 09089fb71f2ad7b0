"""Environment settings: every service reads `SUTRA_*` variables through pydantic-settings.

A bad value must stop a service at once with one line that names the variable, not a
traceback or a half-configured process; `load_settings` does that (exit code 2).

Any setting may instead be read from a file: `SUTRA_X_FILE=/path` gives `SUTRA_X` the file's
content, less one trailing newline. Kubernetes mounts Secrets as files, and a value there is
neither in the pod spec nor in the process environment that `/proc/PID/environ`, a crash
report or a child process would show.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar, get_args
from urllib.parse import urlsplit

from pydantic import BeforeValidator, SecretBytes, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

ENV_PREFIX = "SUTRA_"

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
    "t": 1000**4,
    "tb": 1000**4,
    "tib": 1024**4,
}
_SIZE = re.compile(r"^\s*(\d+)\s*([a-zA-Z]*)\s*$")


def parse_size(value: object) -> object:
    """Accept `32GiB`, `512MiB`, `64KiB`, `1000` (bytes); leave other types to pydantic."""
    if isinstance(value, str):
        match = _SIZE.match(value)
        if not match or match.group(2).lower() not in _SIZE_UNITS:
            raise ValueError("expected a byte size such as 1048576, 64KiB, 512MiB or 32GiB")
        return int(match.group(1)) * _SIZE_UNITS[match.group(2).lower()]
    return value


ByteSize = Annotated[int, BeforeValidator(parse_size)]


_HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")


def host_port(value: str, example: str = "storage-server:50051") -> str:
    """A gRPC target `host:port` (IPv6 in brackets) with a port in 1-65535."""
    match = _HOST_PORT.match(value)
    if not match or not 1 <= int(match.group(2)) <= 65535:
        raise ValueError(f"expected host:port, e.g. {example}")
    return value


def http_url(value: str, example: str) -> str:
    """An http(s) URL with a host, without its trailing slash (paths are appended to it)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http(s) URL, e.g. {example}")
    return value.rstrip("/")


FILE_SUFFIX = "_FILE"


class SettingFileError(ValueError):
    """A `SUTRA_X_FILE` setting names a file that cannot give the value; one line."""


def read_setting_file(variable: str, path: str) -> str:
    """The value in `path` without its trailing newline (`echo token > file` writes one)."""
    if not path:
        raise SettingFileError(f"{variable} is empty: name the file that holds the value")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SettingFileError(f"{variable}: cannot read {path}: {reason}") from None
    value = text.removesuffix("\n").removesuffix("\r")
    if not value:
        raise SettingFileError(f"{variable}: {path} is empty")
    return value


class SettingFiles(PydanticBaseSettingsSource):
    """The values of the `SUTRA_X_FILE` variables, read from their files."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # every value comes from __call__

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field in self.settings_cls.model_fields:
            direct = env_name(self.settings_cls, field)
            path = os.environ.get(direct + FILE_SUFFIX)
            if path is None:
                continue
            if direct in os.environ:
                raise SettingFileError(f"set {direct} or {direct}{FILE_SUFFIX}, not both")
            values[field] = read_setting_file(direct + FILE_SUFFIX, path)
        return values


class SutraSettings(BaseSettings):
    """Base of every service's settings: `SUTRA_` prefix, unknown variables ignored, any
    setting readable from the file that `SUTRA_X_FILE` names."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        files = SettingFiles(settings_cls)
        return init_settings, files, env_settings, dotenv_settings, file_secret_settings


S = TypeVar("S", bound=SutraSettings)


def env_name(settings_cls: type[BaseSettings], field: str) -> str:
    prefix = settings_cls.model_config.get("env_prefix", ENV_PREFIX) or ""
    return f"{prefix}{field}".upper()


_SECRET_NAME = re.compile(r"token|password|secret", re.IGNORECASE)


def _holds_secret(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, SecretStr | SecretBytes):
        return True
    return any(_holds_secret(arg) for arg in get_args(annotation))


def is_secret(settings_cls: type[SutraSettings], field: str) -> bool:
    """A field whose value must never be printed: a SecretStr, or named like a credential."""
    info = settings_cls.model_fields.get(field)
    return bool(_SECRET_NAME.search(field)) or (info is not None and _holds_secret(info.annotation))


def _has_password(value: str) -> bool:
    """A URL with credentials in it (redis://:pass@host)."""
    try:
        return urlsplit(value.strip()).password is not None
    except ValueError:
        return "@" in value


def describe_error(settings_cls: type[SutraSettings], exc: ValidationError) -> str:
    """One line naming the first offending variable and why it is wrong. The bad value is
    echoed, to spare a look at the environment, unless it may be a credential (a secret field,
    a URL with a password): a wrong one is often a real secret with a typo."""
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error.get("loc") else "?"
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    value = error.get("input")
    variable = env_name(settings_cls, field)
    if file := os.environ.get(variable + FILE_SUFFIX):  # a file holds secrets: never echoed
        return f"invalid setting {variable}{FILE_SUFFIX}: {message} (in {file})"
    hidden = is_secret(settings_cls, field) or (isinstance(value, str) and _has_password(value))
    shown = f" (got {value!r})" if isinstance(value, str | int | float) and not hidden else ""
    return f"invalid setting {variable}: {message}{shown}"


def load_settings(settings_cls: type[S], program: str) -> S:
    """Read the settings or exit 2 with one line on stderr."""
    try:
        return settings_cls()
    except ValidationError as exc:
        fail(program, describe_error(settings_cls, exc))
    except SettingFileError as exc:
        fail(program, str(exc))


def fail(program: str, message: str, code: int = 2) -> NoReturn:
    print(f"{program}: {message}", file=sys.stderr)
    raise SystemExit(code)
