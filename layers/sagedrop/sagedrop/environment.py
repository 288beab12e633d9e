"""Reading Lambda environment variables: every problem raises InvalidConfigError naming the variable."""

from __future__ import annotations

from collections.abc import Mapping

from sagedrop.errors import InvalidConfigError


def required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise InvalidConfigError(f"environment variable {name} is required but not set")
    return value


def integer(env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidConfigError(f"environment variable {name} must be an integer, got {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise InvalidConfigError(f"environment variable {name} must be {bounds}, got {value}")
    return value


def boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"true", "1", "yes"}:
        return True
    if raw in {"false", "0", "no"}:
        return False
    raise InvalidConfigError(f"environment variable {name} must be true or false, got {raw!r}")
