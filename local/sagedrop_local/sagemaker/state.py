"""The on-disk format of the local SageMaker's tables: one JSON document, replaced atomically."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

_DATETIME_KEY = "$datetime"
_EMPTY_STATE = {
    "training_jobs": {},
    "models": {},
    "endpoint_configs": {},
    "endpoints": {},
    "tags": {},
    "log_groups": {},
    "invocations": [],
}

#: What identifies one version of the file without reading it: (inode, mtime, size).
Signature = tuple[int, int, int]


class StateFileCorrupt(Exception):
    """The state file exists but is not a state document (edited by hand, disk full, ...)."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"the local SageMaker state file {path} is corrupt ({reason}); move it away to start afresh")
        self.path = path


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {_DATETIME_KEY: value.isoformat()}
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _decode(obj: dict) -> Any:
    if set(obj) == {_DATETIME_KEY}:
        return datetime.fromisoformat(obj[_DATETIME_KEY])
    return obj


def empty_state() -> dict[str, Any]:
    """Fresh tables with nothing in them."""
    return json.loads(json.dumps(_EMPTY_STATE))


class StateFile:
    """One JSON document holding every resource; datetimes round-trip as timezone-aware values."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def signature(self) -> Signature | None:
        """Changes whenever the file is replaced (None when there is no file yet)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def load(self) -> dict[str, Any]:
        """The saved state, or an empty one when nothing was saved yet."""
        state = empty_state()
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return state
        try:
            saved = json.loads(data.decode("utf-8"), object_hook=_decode)
        except (ValueError, UnicodeDecodeError) as error:
            raise StateFileCorrupt(self.path, str(error)) from error
        if not isinstance(saved, dict) or any(
            not isinstance(saved.get(key, value), type(value)) for key, value in _EMPTY_STATE.items()
        ):
            raise StateFileCorrupt(self.path, "not a local SageMaker state document")
        state.update(saved)
        return state

    def save(self, state: dict[str, Any]) -> Signature | None:
        """Write a temporary file in the same directory and rename it over the old one.

        A reader (in any process) sees the old document or the new one, never half of one.
        Returns the new file's signature.
        """
        text = json.dumps(state, default=_encode, indent=1, sort_keys=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".state-", suffix=".json")
        try:
            with os.fdopen(handle, "w") as file:
                file.write(text)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return self.signature()
