"""Configuration, resolved once per invocation and passed into library calls.

Sources, highest first: command-line flag > ``LGCRAFT_<SECTION>_<KEY>`` environment
variable > ``lgcraft.toml`` > built-in default. The file is the one named by
``--config`` (or ``LGCRAFT_CONFIG``), else ``./lgcraft.toml``, else
``lgcraft.toml`` in the user config directory. Sections are the trades::

    [provenance]
    rpc_url = "http://127.0.0.1:8545"
    confirmations = 1

    [eyewear]
    profile = "web"
    jobs = 2

Secrets (private keys, keystore passwords, RPC credentials) come only from the
environment; they are refused in config files and never accepted as flags.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from lgcraft.errors import ConfigError, InputError

SECTIONS = ("core", "jewelry", "eyewear", "toys", "provenance", "run")
FILE_NAME = "lgcraft.toml"

# Environment variables that are not settings of a section.
SECRET_ENV = ("LGCRAFT_PRIVATE_KEY", "LGCRAFT_KEYSTORE_PASSWORD", "LGCRAFT_RPC_AUTH")
RESERVED_ENV = {"LGCRAFT_DEBUG", "LGCRAFT_CONFIG", "LGCRAFT_VENV", "LGCRAFT_TORCH", *SECRET_ENV}
SECRET_KEYS = {"private_key", "keystore_password", "password", "rpc_auth", "api_key", "secret"}


def user_config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("lgcraft")) / FILE_NAME


def find_config_file(explicit: str | Path | None, env: Mapping[str, str]) -> Path | None:
    """The config file to read, or None. An explicitly named file must exist."""
    named = explicit or env.get("LGCRAFT_CONFIG")
    if named:
        path = Path(named).expanduser()
        if path.is_dir():
            raise InputError(f"config file {path} is a folder", hint="pass the lgcraft.toml inside it")
        if not path.is_file():
            raise InputError(f"config file not found: {path}", hint="check the --config path")
        return path
    for candidate in (Path.cwd() / FILE_NAME, user_config_path()):
        if candidate.is_file():
            return candidate
    return None


def load_file(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    sections: dict[str, dict[str, Any]] = {}
    for name, table in data.items():
        if name not in SECTIONS or not isinstance(table, dict):
            raise ConfigError(
                f"{path}: unknown section [{name}]",
                hint=f"sections are: {', '.join(SECTIONS)}",
            )
        for key in table:
            if key in SECRET_KEYS:
                raise ConfigError(
                    f"{path}: [{name}] {key} is a secret and cannot be stored in a config file",
                    hint="set it in the environment, e.g. LGCRAFT_PRIVATE_KEY",
                )
        sections[name] = dict(table)
    return sections


def env_settings(env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """``LGCRAFT_PROVENANCE_RPC_URL=...`` -> ``{"provenance": {"rpc_url": ...}}``."""
    sections: dict[str, dict[str, str]] = {}
    for var, value in env.items():
        if not var.startswith("LGCRAFT_") or var in RESERVED_ENV:
            continue
        rest = var[len("LGCRAFT_") :].lower()
        for section in SECTIONS:
            if rest.startswith(section + "_") and len(rest) > len(section) + 1:
                sections.setdefault(section, {})[rest[len(section) + 1 :]] = value
                break
    return sections


def _coerce(value: Any, kind: type, origin: str) -> Any:
    if value is None or isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    try:
        if kind is bool:
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(value)
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{origin}: expected {kind.__name__}, got {value!r}") from exc


@dataclass(frozen=True)
class Settings:
    """Merged settings of one invocation; ``get`` applies the precedence."""

    file_values: dict[str, dict[str, Any]] = field(default_factory=dict)
    env_values: dict[str, dict[str, str]] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    source: Path | None = None

    @classmethod
    def load(cls, config: str | Path | None = None, env: Mapping[str, str] | None = None):
        """Resolve the settings of this invocation.

        >>> Settings.load(env={"LGCRAFT_EYEWEAR_JOBS": "4"}).get("eyewear", "jobs", int)
        4
        """
        env = os.environ if env is None else env
        path = find_config_file(config, env)
        return cls(
            file_values=load_file(path) if path else {},
            env_values=env_settings(env),
            secrets={k: env[k] for k in SECRET_ENV if env.get(k)},
            source=path,
        )

    def get(self, section: str, key: str, kind: type = str, default: Any = None,
            flag: Any = None, *, valid: Callable[[Any], bool] | None = None,
            expect: str = "") -> Any:
        """flag > environment > file > default, coerced to ``kind``.

        With ``valid``, a value it refuses is an `InputError` naming where the value came
        from (the flag, the environment variable or the config file), e.g.
        ``LGCRAFT_PROVENANCE_CONFIRMATIONS=-3: must be 1..1000`` (``expect`` is the text
        after "must be").
        """
        if flag is not None:
            origin, shown = f"--{key.replace('_', '-')}", f"--{key.replace('_', '-')} {flag}"
            value = _coerce(flag, kind, origin)
        elif key in self.env_values.get(section, {}):
            origin = f"LGCRAFT_{section}_{key}".upper()
            shown = f"{origin}={self.env_values[section][key]}"
            value = _coerce(self.env_values[section][key], kind, origin)
        elif key in self.file_values.get(section, {}):
            origin = f"{self.source} [{section}] {key}"
            shown = f"{origin} = {self.file_values[section][key]!r}"
            value = _coerce(self.file_values[section][key], kind, origin)
        else:
            return default
        if valid is not None and not valid(value):
            raise InputError(f"{shown}: must be {expect}")
        return value

    def secret(self, name: str) -> str | None:
        """A secret from the environment (e.g. ``LGCRAFT_PRIVATE_KEY``); never printed."""
        return self.secrets.get(name)

    def describe(self) -> dict[str, Any]:
        """Safe to print: file and env settings with URLs redacted, secrets only named."""
        merged: dict[str, dict[str, Any]] = {}
        for source in (self.file_values, self.env_values):
            for section, values in source.items():
                for key, value in values.items():
                    merged.setdefault(section, {})[key] = (
                        redact_url(value) if isinstance(value, str) else value
                    )
        return {
            "file": str(self.source) if self.source else None,
            "settings": merged,
            "secrets_set": sorted(self.secrets),
        }


def split_url(url: str) -> SplitResult:
    """``urlsplit`` that also refuses what it only notices later: ValueError for an
    unclosed IPv6 bracket or a port out of range."""
    parts = urlsplit(url)
    parts.port  # noqa: B018 - the port is parsed (and checked) on access
    return parts


def redact_url(url: str) -> str:
    """Hide credentials in an RPC URL: user:password@ and long path/query tokens."""
    try:
        parts = split_url(url)
    except ValueError:
        return url
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    if parts.username or parts.password:
        netloc = "***@" + netloc
    path = "/".join("***" if len(seg) >= 16 else seg for seg in parts.path.split("/"))
    query = "***" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, path, query, ""))
