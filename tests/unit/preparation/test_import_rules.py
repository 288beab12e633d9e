"""The rule for sagedrop.preparation: its job runs in a Processing job on the scikit-learn image.

That image (aws/sagemaker-scikit-learn-container, docker/1.4-2-py312: the version in
data/image_uris.json) is Python 3.12 with numpy 2.1 and pandas 2.3, and none of the Lambda layer's
pydantic, Powertools or jsonschema. So the job's import closure may reach only the standard
library, numpy and pandas, in Python 3.12 code; and the zip application really runs with the
Lambda-only packages made unimportable.
"""

import ast
import json
import subprocess
import sys

from sagedrop.image_uris import SKLEARN, supported_versions
from sagedrop.inference.packaging import external_imports, import_closure
from sagedrop.pipeline.preparation_job import JOB_MODULE
from sagedrop.pipeline.processing import zip_application

ALLOWED_THIRD_PARTY = {"numpy", "pandas"}
IMAGE_PYTHON = (3, 12)
# Standard-library names that appeared after Python 3.12.
NEWER_THAN_3_12 = {("warnings", "deprecated"), ("copy", "replace")}
LAMBDA_ONLY = ("pydantic", "aws_lambda_powertools", "jsonschema", "jinja2", "boto3", "botocore")


def test_the_image_is_the_one_whose_python_this_file_pins():
    assert supported_versions(SKLEARN) == ["1.4-2-py312"]


def test_the_job_closure_is_the_preparation_and_dataset_code_only():
    closure = set(import_closure([JOB_MODULE]))
    allowed_packages = ("sagedrop.preparation", "sagedrop.dataset")
    allowed_modules = {"sagedrop", "sagedrop.errors", "sagedrop.limits", "sagedrop.algorithms"}
    allowed_modules |= {"sagedrop.problem_types", "sagedrop.image_uris", "sagedrop.memory"}
    outside = {m for m in closure if not m.startswith(allowed_packages)} - allowed_modules
    assert not outside, sorted(outside)
    assert not {m for m in closure if m.startswith(("sagedrop.run_config", "sagedrop.pipeline", "sagedrop.aws"))}


def test_other_imports_are_stdlib_numpy_or_pandas():
    problems = []
    for found in external_imports(import_closure([JOB_MODULE])):
        top = found.imported.split(".")[0]
        if top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY or top == "__future__":
            continue
        problems.append(f"{found.module} imports {found.imported}")
    assert not problems


def test_the_closure_is_python_3_12_code():
    for module, path in import_closure([JOB_MODULE]).items():
        tree = ast.parse(path.read_bytes(), str(path), feature_version=IMAGE_PYTHON)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not {(node.module, alias.name) for alias in node.names} & NEWER_THAN_3_12, module


def test_the_zip_application_runs_without_the_lambda_only_packages(tmp_path):
    app = tmp_path / "prepare.pyz"
    app.write_bytes(zip_application(JOB_MODULE))
    # Make the Lambda-only packages unimportable, then run the application as python3 runs a .pyz.
    code = (
        "import runpy, sys\n"
        f"for name in {LAMBDA_ONLY!r}: sys.modules[name] = None\n"
        "sys.argv = [sys.argv[1], '--help']\n"
        "sys.path.insert(0, sys.argv[0])\n"
        "try:\n"
        "    runpy.run_path(sys.argv[0], run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "import sagedrop, json\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('sagedrop'))\n"
        "print(json.dumps({'sagedrop': sagedrop.__file__, 'loaded': loaded}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(app)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded["sagedrop"].startswith(str(app))  # the application's copy, not the installed package
    assert "sagedrop.preparation.job" in loaded["loaded"] and "sagedrop.dataset.streaming" in loaded["loaded"]
