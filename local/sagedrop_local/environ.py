"""The process-wide environment, changed and read consistently across the local cloud's threads.

The local Lambda runtime sets each function's variables for its invocation and takes them away
afterwards, while other threads (the local SageMaker's workers starting container processes) copy
``os.environ``. Iterating ``os.environ`` while a key is removed raises KeyError in the copier, so
our own copies go through one lock — and, because code we do not own (botocore, moto) iterates it
too, a key a function added is not removed when the function returns but when the local cloud
closes (:func:`release_added`). That is harmless because no two functions of the template give one
variable different values (tests/unit/local/test_lambdas.py checks it): a later function finds only
values it would set itself, or variables it does not read.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

_LOCK = threading.Lock()
#: Variables functions added, left in place until release_added() (see the module docstring).
_ADDED: set[str] = set()


def apply(variables: Mapping[str, str]) -> dict[str, str | None]:
    """Set ``variables``; returns what they were before (None: unset), for :func:`restore`."""
    with _LOCK:
        saved = {name: os.environ.get(name) for name in variables}
        os.environ.update(variables)
    return saved


def restore(saved: Mapping[str, str | None]) -> None:
    """Put back the values :func:`apply` replaced; variables that were unset stay until :func:`release_added`."""
    with _LOCK:
        for name, value in saved.items():
            if value is None:
                _ADDED.add(name)
            else:
                os.environ[name] = value


def release_added() -> None:
    """Remove the variables functions added (the local cloud closes: nothing else runs in it now)."""
    with _LOCK:
        for name in _ADDED:
            os.environ.pop(name, None)
        _ADDED.clear()


def snapshot() -> dict[str, str]:
    """A copy of the whole environment, never torn by a concurrent change."""
    with _LOCK:
        return dict(os.environ)
