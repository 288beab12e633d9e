"""JSON persistence of the emulator's resources, written atomically after every change."""

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


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {_DATETIME_KEY: value.isoformat()}
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _decode(obj: dict) -> Any:
    if set(obj) == {_DATETIME_KEY}:
        return datetime.fromisoformat(obj[_DATETIME_KEY])
    return obj


class StateFile:
    """One JSON document holding every resource; datetimes round-trip as timezone-aware values."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def load(self) -> dict[str, Any]:
        """The saved state, or an empty one when nothing was saved yet."""
        state = json.loads(json.dumps(_EMPTY_STATE))
        if self.path.exists():
            state.update(json.loads(self.path.read_text(), object_hook=_decode))
        return state

    def save(self, state: dict[str, Any]) -> None:
        """Write via a temporary file and rename, so a reader never sees half a document."""
        text = json.dumps(state, default=_encode, indent=1, sort_keys=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".state-", suffix=".json")
        with os.fdopen(handle, "w") as file:
            file.write(text)
        os.replace(temporary, self.path)
