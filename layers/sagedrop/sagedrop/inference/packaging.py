"""The inference model tarball: serving code, the frozen artifact, and (single mode) the algorithm's model.

Layout of ``model.tar.gz`` (SageMaker extracts it into ``/opt/ml/model``)::

    featurizer.json                  the frozen artifact (FeaturizerArtifact.to_json)
    code/inference.py                SAGEMAKER_PROGRAM: re-exports sagedrop.inference.serving's four functions
    code/sagedrop/...                the modules those import (their import closure), copied verbatim
    xgboost-model                    single-container form only: the training job's model file

The serving containers copy ``SAGEMAKER_SUBMIT_DIRECTORY`` (``/opt/ml/model/code``) to
``/opt/ml/code`` and put that on the server's Python path, so ``import sagedrop`` there finds the
copy. The bytes are deterministic for the same inputs (sorted members, fixed times and owners).
"""

from __future__ import annotations

import ast
import gzip
import io
import posixpath
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sagedrop.inference.artifact import ARTIFACT_FILE, FeaturizerArtifact
from sagedrop.inference.serving import MODE_ENV, MODES, XGBOOST_MODEL_FILE

CODE_DIR = "code"
ENTRY_POINT = "inference.py"
#: Where SageMaker extracts the model tarball, and so where the serving code is.
SUBMIT_DIRECTORY = f"/opt/ml/model/{CODE_DIR}"
#: The module the entry point serves; the import closure starts here.
SERVING_MODULE = "sagedrop.inference.serving"
ENTRY_POINT_SOURCE = f'''"""sagedrop inference stage; {MODE_ENV} chooses it (featurize, decode or single)."""

from {SERVING_MODULE} import input_fn, model_fn, output_fn, predict_fn

__all__ = ["input_fn", "model_fn", "output_fn", "predict_fn"]
'''
_PACKAGE = "sagedrop"
_PACKAGE_DIR = Path(__file__).resolve().parents[1]
_MTIME = 1_700_000_000  # fixed, so the same inputs give the same bytes


@dataclass(frozen=True)
class ModelTarball:
    """What :func:`read_model_tarball` found: the artifact and every regular file by its path."""

    artifact: FeaturizerArtifact
    files: Mapping[str, bytes]


def container_environment(mode: str) -> dict[str, str]:
    """The ``Environment`` of a container that runs this tarball's code in ``mode``.

    Featurize answers text/csv whatever the Accept; the Accept default matters for the stages that
    answer the caller (decode, single), where the contract's default answer is text/csv.
    """
    if mode not in MODES:
        raise ValueError(f"unknown inference mode {mode!r}; one of {', '.join(MODES)}")
    return {
        "SAGEMAKER_PROGRAM": ENTRY_POINT,
        "SAGEMAKER_SUBMIT_DIRECTORY": SUBMIT_DIRECTORY,
        "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
        MODE_ENV: mode,
    }


def code_files() -> dict[str, bytes]:
    """``code/...`` path → bytes: the entry point and the serving module's import closure."""
    files = {posixpath.join(CODE_DIR, ENTRY_POINT): ENTRY_POINT_SOURCE.encode("utf-8")}
    for path in import_closure([SERVING_MODULE]).values():
        relative = path.relative_to(_PACKAGE_DIR.parent).as_posix()
        files[posixpath.join(CODE_DIR, relative)] = path.read_bytes()
    return files


def build_model_tarball(artifact: FeaturizerArtifact, extra_files: Mapping[str, bytes] | None = None) -> bytes:
    """``model.tar.gz`` bytes for the inference containers.

    ``extra_files`` (path → bytes) go in as they are — for the single-container form, the training
    job's model file (:func:`algorithm_files`), e.g. ``{"xgboost-model": …}``.
    """
    members = {ARTIFACT_FILE: artifact.to_json(), **code_files()}
    for name, data in (extra_files or {}).items():
        if name in members or not _safe(name):
            raise ValueError(f"cannot add {name!r} to the inference tarball")
        members[name] = bytes(data)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(members[name]), _MTIME, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(members[name]))
    return gzip.compress(raw.getvalue(), mtime=0)


def read_model_tarball(data: bytes) -> ModelTarball:
    """The artifact and files of an inference tarball; raises ValueError for anything else."""
    files = _regular_files(data)
    if ARTIFACT_FILE not in files:
        raise ValueError(f"not an inference model tarball: no {ARTIFACT_FILE}")
    return ModelTarball(FeaturizerArtifact.from_json(files[ARTIFACT_FILE]), files)


def algorithm_files(model_tar_gz: bytes, names: Iterable[str] = (XGBOOST_MODEL_FILE,)) -> dict[str, bytes]:
    """The named files of a training job's ``model.tar.gz`` (the single-container form carries them)."""
    files = _regular_files(model_tar_gz)
    missing = [name for name in names if name not in files]
    if missing:
        raise ValueError(f"the training model tarball lacks {', '.join(missing)} (it holds {sorted(files)})")
    return {name: files[name] for name in names}


# --- the import closure -------------------------------------------------------------------------


def import_closure(modules: Iterable[str]) -> dict[str, Path]:
    """``sagedrop`` module name → source file, for ``modules`` and everything they import from ``sagedrop``.

    Follows every import statement (also those inside functions), and the ``__init__`` of each
    package on the way, as Python runs them. Imports of other top-level packages are not followed:
    :func:`external_imports` lists them.
    """
    found: dict[str, Path] = {}
    pending = list(modules)
    while pending:
        module = pending.pop()
        for name in _with_parents(module):
            if name in found:
                continue
            path = _source(name)
            found[name] = path
            pending.extend(imported for imported in _imports(name, path) if imported.split(".")[0] == _PACKAGE)
    return dict(sorted(found.items()))


@dataclass(frozen=True)
class ExternalImport:
    """An import of a module outside ``sagedrop``: where, and whether it is deferred or optional."""

    module: str  # the importing sagedrop module
    imported: str  # the imported module's full name
    in_function: bool
    guarded: bool  # inside ``try: … except ImportError``


def external_imports(closure: Mapping[str, Path]) -> list[ExternalImport]:
    result = []
    for module, path in closure.items():
        for node, in_function, guarded in _import_nodes(ast.parse(path.read_bytes(), str(path))):
            for imported in _imported_names(module, path, node, follow_submodules=False):
                if imported.split(".")[0] != _PACKAGE:
                    result.append(ExternalImport(module, imported, in_function, guarded))
    return result


def _with_parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _source(module: str) -> Path:
    base = _PACKAGE_DIR.parent.joinpath(*module.split("."))
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    raise ValueError(f"no source file for module {module!r}")


def _is_module(module: str) -> bool:
    base = _PACKAGE_DIR.parent.joinpath(*module.split("."))
    return (base / "__init__.py").is_file() or base.with_suffix(".py").is_file()


def _imports(module: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_bytes(), str(path))
    return {name for node, _, _ in _import_nodes(tree) for name in _imported_names(module, path, node)}


def _imported_names(module: str, path: Path, node: ast.Import | ast.ImportFrom, follow_submodules: bool = True):
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        package = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
    names = [base]
    if follow_submodules and base.split(".")[0] == _PACKAGE:
        names += [f"{base}.{alias.name}" for alias in node.names if _is_module(f"{base}.{alias.name}")]
    return names


def _import_nodes(tree: ast.AST, in_function: bool = False, guarded: bool = False):
    """Every import statement with whether it sits in a function and in a ``try/except ImportError``."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, in_function, guarded
            continue
        child_in_function = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        if isinstance(child, ast.Try) and any(_catches_import_error(handler) for handler in child.handlers):
            for statement in child.body:
                yield from _import_nodes(ast.Module(body=[statement], type_ignores=[]), child_in_function, True)
            for part in (child.handlers, child.orelse, child.finalbody):
                for statement in part:
                    yield from _import_nodes(ast.Module(body=[statement], type_ignores=[]), child_in_function, guarded)
            continue
        yield from _import_nodes(child, child_in_function, guarded)


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(name, ast.Name) and name.id in {"ImportError", "ModuleNotFoundError"} for name in names)


# --- tar reading --------------------------------------------------------------------------------


def _safe(name: str) -> bool:
    normal = posixpath.normpath(name)
    return bool(name) and not name.startswith("/") and normal == name and not normal.startswith("..")


def _regular_files(data: bytes) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            for member in tar.getmembers():
                name = member.name.removeprefix("./")
                if not member.isfile():
                    continue
                if not _safe(name):
                    raise ValueError(f"unsafe path {member.name!r} in the model tarball")
                files[name] = tar.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError) as error:
        raise ValueError(f"not a readable model tarball: {error}") from None
    return files


__all__ = [
    "CODE_DIR",
    "ENTRY_POINT",
    "SUBMIT_DIRECTORY",
    "ModelTarball",
    "algorithm_files",
    "build_model_tarball",
    "code_files",
    "container_environment",
    "external_imports",
    "import_closure",
    "read_model_tarball",
]
