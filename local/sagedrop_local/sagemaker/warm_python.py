"""A container's Python started ahead of need: the image's libraries imported, waiting for its command.

Not imported by the local SageMaker: ``warm`` runs it as ``python [-I] warm_python.py MODULES`` and
keeps it until a container of that kind starts. It imports MODULES (the libraries every program of
that image imports: numpy, pandas, xgboost), then reads one JSON line from stdin, ``{"argv": [SCRIPT,
ARG...], "env": {...}, "cwd": DIR, "stdin": "keep" | "close"}``, takes that environment, folder and
argv, and runs SCRIPT as ``python SCRIPT ARG...`` would. The rest of stdin is SCRIPT's stdin
(``close`` gives it an empty one). An empty first line (the pool closed) ends it without running
anything. Only the standard library here: it runs beside ``script_container`` and
``processing_python``, which import nothing of the project either.
"""

from __future__ import annotations

import importlib
import json
import os
import runpy
import sys


def preload(modules: list[str]) -> None:
    for name in modules:
        if name == "xgboost":  # as the runners import it: without scikit-learn's estimators
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves this folder out
            try:
                from lean_xgboost import import_xgboost  # noqa: PLC0415

                import_xgboost()
            finally:
                sys.path.pop(0)
        else:
            importlib.import_module(name)


def main(args: list[str]) -> None:
    preload([name for name in (args[0] if args else "").split(",") if name])
    line = sys.stdin.readline()
    if not line.strip():
        return
    command = json.loads(line)
    os.environ.clear()
    os.environ.update(command["env"])
    os.chdir(command["cwd"])
    if command.get("stdin") == "close":
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 — the program's stdin for its lifetime
    script, *rest = command["argv"]
    sys.argv = [script, *rest]
    if not sys.flags.isolated:  # as `python SCRIPT` sets it; `python -I SCRIPT` has no script folder
        sys.path[0] = os.path.dirname(os.path.abspath(script))
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
