"""xgboost imported without its scikit-learn estimators: seconds off every local start.

At import time xgboost imports scikit-learn (and with it scipy) only to define ``XGBClassifier``
and its siblings. The local SageMaker and the analysis job train and predict with ``Booster``
alone, yet each process paid that import: 2-3 s on a quiet 2-core machine, more under load, once
in ``sagedrop local run`` and again in every local Processing job. ``install()`` hides
scikit-learn while, and only while, xgboost's own modules execute; scikit-learn imported before or
afterwards is untouched (xgboost then simply lacks its estimator classes). Standalone on purpose:
the local Processing container's runner imports it from this folder, without the package.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from types import ModuleType

_HIDDEN = "sklearn"
_hiding = threading.local()


def _hidden(name: str) -> bool:
    return name == _HIDDEN or name.startswith(_HIDDEN + ".")


class _HideScikitLearn(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if getattr(_hiding, "active", False) and _hidden(name):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


class _HidingLoader(importlib.abc.Loader):
    """Runs xgboost's ``__init__`` (which imports the rest of xgboost) with scikit-learn hidden."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        if _HIDDEN in sys.modules:  # already paid for: nothing to save
            self._loader.exec_module(module)
            return
        _hiding.active = True
        try:
            self._loader.exec_module(module)
        finally:
            _hiding.active = False

    def __getattr__(self, name: str):  # resource readers and friends come from the real loader
        return getattr(self._loader, name)


class _LeanXgboost(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "xgboost":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _HidingLoader(spec.loader)
        return spec


def install() -> None:
    """From now on, the first ``import xgboost`` of this process leaves scikit-learn out."""
    if not any(isinstance(finder, _LeanXgboost) for finder in sys.meta_path):
        sys.meta_path[0:0] = [_HideScikitLearn(), _LeanXgboost()]


def import_xgboost() -> ModuleType:
    install()
    import xgboost  # noqa: PLC0415 — after install(), on purpose

    return xgboost
