"""The process-wide environment, changed and read consistently across the local cloud's threads.

The local Lambda runtime sets each function's variables for its invocation and takes them away
afterwards, while other threads (the local SageMaker's workers starting container processes) copy
``os.environ``. Iterating ``os.environ`` while a key is removed raises KeyError in the copier, so
both go through one lock.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

_LOCK = threading.Lock()


def apply(variables: Mapping[str, str]) -> dict[str, str | None]:
    """Set ``variables``; returns what they were before (None: unset), for :func:`restore`."""
    with _LOCK:
        saved = {name: os.environ.get(name) for name in variables}
        os.environ.update(variables)
    return saved


def restore(saved: Mapping[str, str | None]) -> None:
    with _LOCK:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def snapshot() -> dict[str, str]:
    """A copy of the whole environment, never torn by a concurrent change."""
    with _LOCK:
        return dict(os.environ)
