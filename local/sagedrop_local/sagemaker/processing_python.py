"""``python3 ARGS...`` of a processing container, run by the local Python without the project installed.

Not imported by the local SageMaker: ``processing_container`` runs ``python processing_python.py
ARGS...`` where the job's entrypoint says ``python3 ARGS...``. In the processing image the project
is not installed, so a script that imports ``sagedrop`` without shipping it as an input fails there;
here the host's editable install is taken off the import system first (``script_container`` does
the same for serving code), so it fails locally too. Then ARGS run as the interpreter would run them:
``SCRIPT [ARG...]``, ``-c CODE [ARG...]`` or ``-m MODULE [ARG...]``, with ``sys.argv`` and
``sys.path[0]`` as Python sets them (leading ``-u``/``-B`` style switches are accepted and ignored).
"""

from __future__ import annotations

import os
import runpy
import sys

_SWITCHES = {"-u", "-B", "-E", "-s", "-O", "-OO", "-q", "-b", "-bb", "-v"}


def main(args: list[str]) -> None:
    from lean_xgboost import install  # noqa: PLC0415 — found in this script's folder
    from script_container import drop_editable_installs  # noqa: PLC0415

    sys.path.pop(0)  # this folder: its modules must not shadow the job's imports
    drop_editable_installs()
    install()  # a job that imports xgboost does not pay for scikit-learn it does not use
    while args and args[0] in _SWITCHES:
        args = args[1:]
    if not args:
        raise SystemExit("processing container: python needs a script, -c or -m (an interactive shell is not emulated)")
    if args[0] == "-c":
        sys.argv = ["-c", *args[2:]]
        sys.path.insert(0, "")
        exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})  # noqa: S102
    elif args[0] == "-m":
        sys.argv = [args[1], *args[2:]]
        sys.path.insert(0, os.getcwd())
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = list(args)
        sys.path.insert(0, os.path.dirname(os.path.abspath(args[0])))
        runpy.run_path(args[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
