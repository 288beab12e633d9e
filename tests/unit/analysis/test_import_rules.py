"""The rule for sagedrop.analysis: it runs in a Processing job on the XGBoost image (Python 3.10, numpy,
pandas and the image's own xgboost), from a zip application of its import closure."""

import ast
import pkgutil
import sys

import sagedrop.analysis
from sagedrop.inference.packaging import external_imports, import_closure
from sagedrop.pipeline.analysing import JOB_MODULE

ALLOWED_THIRD_PARTY = {"numpy", "pandas"}
NEWER_THAN_3_10 = {("enum", "StrEnum"), ("typing", "Self"), ("typing", "LiteralString"), ("typing", "Never")}


def package_modules() -> list[str]:
    return [f"sagedrop.analysis.{info.name}" for info in pkgutil.iter_modules(sagedrop.analysis.__path__)]


def test_the_job_closure_is_the_analysis_package_only():
    closure = set(import_closure([JOB_MODULE]))
    assert closure <= {"sagedrop", "sagedrop.analysis", *package_modules()}, sorted(closure)


def test_other_imports_are_stdlib_numpy_pandas_or_the_images_xgboost_inside_functions():
    problems = []
    for found in external_imports(import_closure(package_modules())):
        top = found.imported.split(".")[0]
        if top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY or top == "__future__":
            continue
        if top == "xgboost" and found.in_function:
            continue
        problems.append(f"{found.module} imports {found.imported}")
    assert not problems


def test_the_closure_is_python_3_10_code():
    for module, path in import_closure(package_modules()).items():
        tree = ast.parse(path.read_bytes(), str(path), feature_version=(3, 10))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not {(node.module, alias.name) for alias in node.names} & NEWER_THAN_3_10, module
