"""The one way tests load a handler: ``functions/<name>/app.py`` imported afresh, as a cold start.

Lambda imports a handler module once per execution environment, and module-level settings and
clients are built then; importing it afresh (environment set, moto active) is that cold start.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType


def module_name(name: str) -> str:
    return f"functions.{name}.app"


def import_fresh(name: str) -> ModuleType:
    """``functions.<name>.app`` imported now, whatever an earlier test imported."""
    sys.modules.pop(module_name(name), None)
    return importlib.import_module(module_name(name))


def forget(name: str) -> None:
    sys.modules.pop(module_name(name), None)
