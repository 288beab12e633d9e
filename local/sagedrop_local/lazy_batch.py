"""moto's Batch package made lazy: a second off every local start.

moto's Step Functions interpreter imports ``moto.batch.utils`` for its Batch service integration
(one enum, ``JobStatus``). Importing a submodule runs its package's ``__init__`` first, and
``moto/batch/__init__.py`` imports Batch's backends, which import all of moto's EC2 (its region,
zone and instance-type tables): 1.1 s of a 5 s start on a quiet 2-core machine, 2 s under load
(``python -X importtime``). The pipeline has no Batch task. ``install()`` lets ``moto.batch`` be
imported as a package whose ``__init__`` runs on first use of one of its own names (PEP 562's
module ``__getattr__``): its submodules import as usual, and moto's backend lookup, which asks the
package for ``batch_backends``, gets the real backends.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from types import ModuleType

PACKAGE = "moto.batch"


class _DeferredInit(importlib.abc.Loader):
    """Creates the package without running its ``__init__``; the first missing name runs it."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader
        self._lock = threading.Lock()

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        state = {"done": False}

        def __getattr__(name: str):
            with self._lock:
                if not state["done"]:
                    state["done"] = True
                    del module.__getattr__  # from here on, a missing name is an AttributeError
                    self._loader.exec_module(module)
            try:
                return module.__dict__[name]
            except KeyError:
                raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}") from None

        module.__getattr__ = __getattr__

    def __getattr__(self, name: str):  # resource readers and friends come from the real loader
        return getattr(self._loader, name)


class _LazyBatch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != PACKAGE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _DeferredInit(spec.loader)
        return spec


def install() -> None:
    """From now on, a first ``import moto.batch…`` of this process defers the package's ``__init__``."""
    if PACKAGE not in sys.modules and not any(isinstance(finder, _LazyBatch) for finder in sys.meta_path):
        sys.meta_path.insert(0, _LazyBatch())
