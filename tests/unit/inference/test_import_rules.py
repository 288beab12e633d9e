"""The rule for sagedrop.inference: it also runs in the SageMaker serving images.

Those images have numpy and pandas but not the Lambda layer's other dependencies (boto3, pydantic,
Powertools, jinja2), and the XGBoost image runs Python 3.10. So the package's import closure may
reach only the standard library, numpy, pandas and the few sagedrop modules below; the host's own
``xgboost`` and ``sagemaker_containers`` may be imported inside functions only (single mode, and
the error responses of the Flask worker), the latter guarded by ``except ImportError``.
"""

import ast
import pkgutil
import sys

import sagedrop.inference
from sagedrop.inference.packaging import external_imports, import_closure

THIRD_PARTY = {"numpy", "pandas"}
HOST_PROVIDED = {"xgboost", "sagemaker_containers"}
SAGEDROP_MODULES = {
    "sagedrop",
    "sagedrop.errors",
    "sagedrop.limits",
    "sagedrop.dataset",
    "sagedrop.dataset.detect",
    "sagedrop.dataset.encoding",
    "sagedrop.dataset.factorizing",
    "sagedrop.dataset.label",
    "sagedrop.dataset.numbers",
    "sagedrop.dataset.reader",
    "sagedrop.dataset.split",
    "sagedrop.dataset.writer",
}
# Standard-library names that appeared after Python 3.10.
NEWER_THAN_3_10 = {("enum", "StrEnum"), ("typing", "Self"), ("typing", "LiteralString"), ("typing", "Never")}
NEWER_THAN_3_10_MODULES = {"tomllib", "wsgiref.types"}


def package_modules() -> list[str]:
    return ["sagedrop.inference"] + [
        f"sagedrop.inference.{info.name}" for info in pkgutil.iter_modules(sagedrop.inference.__path__)
    ]


def test_first_party_closure_is_the_allowed_modules():
    closure = set(import_closure(package_modules()))
    outside = {m for m in closure if not m.startswith("sagedrop.inference")} - {"sagedrop.inference"}
    assert outside <= SAGEDROP_MODULES, sorted(outside - SAGEDROP_MODULES)


def test_other_imports_are_stdlib_numpy_pandas_or_deferred_host_modules():
    problems = []
    for found in external_imports(import_closure(package_modules())):
        top = found.imported.split(".")[0]
        if top in sys.stdlib_module_names or top in THIRD_PARTY or top == "__future__":
            continue
        if top in HOST_PROVIDED and found.in_function and (top != "sagemaker_containers" or found.guarded):
            continue
        problems.append(f"{found.module} imports {found.imported}")
    assert not problems


def test_the_closure_is_python_3_10_code():
    for module, path in import_closure(package_modules()).items():
        tree = ast.parse(path.read_bytes(), str(path), feature_version=(3, 10))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not {(node.module, alias.name) for alias in node.names} & NEWER_THAN_3_10, module
                assert node.module not in NEWER_THAN_3_10_MODULES, module
            if isinstance(node, ast.Import):
                assert not {alias.name for alias in node.names} & NEWER_THAN_3_10_MODULES, module


def test_the_closure_walker_sees_function_level_and_guarded_imports():
    found = {(e.module, e.imported): e for e in external_imports(import_closure(["sagedrop.inference.serving"]))}
    xgb = found["sagedrop.inference.serving", "xgboost"]
    host = found["sagedrop.inference.serving", "sagemaker_containers.beta.framework"]
    assert (xgb.in_function, xgb.guarded) == (True, False)
    assert (host.in_function, host.guarded) == (True, True)
    assert not found["sagedrop.inference.serving", "numpy"].in_function
