"""Reading a run configuration document (a folder's sagedrop.json, ``--config``, an environment variable).

Only well-formed JSON objects get through: every other input raises InvalidConfigError naming the
source, before any key is looked at.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from sagedrop.errors import InvalidConfigError
from sagedrop.limits import RUN_CONFIG_MAX_BYTES

CONFIG_FILE_NAME = "sagedrop.json"

# A configuration is at most three levels deep (hyperparameters in a file); anything much deeper is
# not a configuration, and would otherwise exhaust the interpreter's recursion limit somewhere.
MAX_NESTING = 16


def config_key_for(csv_key: str) -> str:
    """The S3 key of the configuration file for an uploaded CSV: the same folder, ``sagedrop.json``."""
    return posixpath.join(posixpath.dirname(csv_key), CONFIG_FILE_NAME)


def parse_override(text: str | bytes, source: str) -> dict[str, Any]:
    """Parse a run configuration document; raises InvalidConfigError naming ``source`` on any problem.

    The document must be UTF-8 (a byte-order mark is ignored), non-empty, a JSON object without
    duplicate keys, ``NaN``/``Infinity`` or more than MAX_NESTING levels of nesting, and at most
    RUN_CONFIG_MAX_BYTES long.
    """
    size = _size(text)
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidConfigError(
                f"{source}: not UTF-8 text (byte {exc.start}: {bytes(text)[exc.start : exc.start + 1]!r})"
            ) from None
    elif text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise InvalidConfigError(f"{source}: the file is empty; write {{}} to use the defaults")
    try:
        value = json.loads(text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidConfigError(f"{source}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except _JsonProblem as exc:
        raise InvalidConfigError(f"{source}: {exc}") from None
    except RecursionError:
        raise InvalidConfigError(_too_deep(source)) from None
    if not isinstance(value, dict):
        raise InvalidConfigError(f"{source}: must be a JSON object ({{…}}), not {json_type(value)}")
    if nesting(value) > MAX_NESTING:
        raise InvalidConfigError(_too_deep(source))
    if size > RUN_CONFIG_MAX_BYTES:
        # The effective configuration is carried in every state's input: one too large would end
        # the execution with States.DataLimitExceeded, which no Catch sees, instead of this message.
        raise InvalidConfigError(
            f"{source}: {size:,} bytes; a run configuration may be at most {RUN_CONFIG_MAX_BYTES:,} bytes "
            "(it travels in the run state, which Step Functions limits to 256 KiB)"
        )
    return value


def _size(text: str | bytes) -> int:
    """The document's length in bytes, as it lies in the bucket (UTF-8)."""
    return len(text) if isinstance(text, bytes | bytearray) else len(text.encode("utf-8", "surrogatepass"))


def nesting(value: Any) -> int:
    """How many levels of objects and arrays ``value`` has (0 for a scalar); iterative, so any depth is fine."""
    depth, level = 0, [value]
    while True:
        containers = [item for item in level if isinstance(item, dict | list)]
        if not containers:
            return depth
        depth += 1
        level = [child for item in containers for child in (item.values() if isinstance(item, dict) else item)]


def json_type(value: Any) -> str:
    """'null', 'an array', … — how a user would name the JSON value they wrote."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    return type(value).__name__


def _too_deep(source: str) -> str:
    return f"{source}: nested more than {MAX_NESTING} levels deep; a run configuration needs at most 3"


class _JsonProblem(ValueError):
    pass


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _JsonProblem(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise _JsonProblem(f"{name} is not valid JSON; write a number")
