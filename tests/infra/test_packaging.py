"""Lambda packaging: what `sam build` would put in the layer and each function, resolved for the
python3.13 runtime's platform, stays under Lambda's 250 MB unzipped limit.

`sam build` needs a python3.13 interpreter; this test resolves the same wheels with
`pip install --platform … --python-version 3.13 --only-binary=:all:` instead, using the platform
tags aws-lambda-builders accepts for cp313 (manylinux up to glibc 2.34, Amazon Linux 2023). The
figures are printed (`pytest -m packaging -s`) and recorded in docs/deploy.md.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, load_template

pytestmark = [pytest.mark.packaging, pytest.mark.slow]

LAMBDA_UNZIPPED_LIMIT = 262_144_000  # bytes: function code + all its layers, unzipped
PYTHON_VERSION = "3.13"
ARCHITECTURES = {"arm64": "aarch64", "x86_64": "x86_64"}
# Same glibc range aws-lambda-builders allows for cp313 (its _COMPATIBLE_PLATFORM_* lists).
MANYLINUX = ("manylinux2014", "manylinux_2_17", "manylinux_2_28", "manylinux_2_34")
# Too big for Lambda or test-only (docs/CONTRACTS.md); pyarrow alone is ~150 MB and would break the limit.
NEVER_IN_LAMBDA = {"scikit-learn", "scipy", "xgboost", "xgboost-cpu", "matplotlib", "moto", "pyarrow"}
# Local byte-code of our own sources is not shipped (sam build copies sources, Lambda's /opt is
# read-only); dependencies are installed with --no-compile, as aws-lambda-builders unpacks wheels.
SKIP_DIRS = {"__pycache__", ".pytest_cache"}

TEMPLATE = load_template()
GLOBALS = TEMPLATE["Globals"]["Function"]
FUNCTION_FOLDERS = sorted(
    resource["Properties"]["CodeUri"]
    for resource in TEMPLATE["Resources"].values()
    if resource["Type"] == "AWS::Serverless::Function"
)


def tree_size(path: Path) -> int:
    total = 0
    for directory, subdirs, files in os.walk(path):
        subdirs[:] = [d for d in subdirs if d not in SKIP_DIRS]
        total += sum((Path(directory) / name).lstat().st_size for name in files)
    return total


def requirement_names(requirements: Path) -> set[str]:
    names = set()
    for line in requirements.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(re.split(r"[\[<>=!~; ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def pip_install_for_lambda(requirements: Path, target: Path) -> None:
    """Install `requirements` into `target` for the Lambda runtime of the template."""
    target.mkdir(parents=True, exist_ok=True)
    if not requirement_names(requirements):
        return  # comments only: sam build installs nothing
    machine = ARCHITECTURES[GLOBALS["Architectures"][0]]
    platforms = [arg for tag in MANYLINUX for arg in ("--platform", f"{tag}_{machine}")]
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        *platforms, "--implementation", "cp", "--python-version", PYTHON_VERSION,
        "--only-binary=:all:", "--target", str(target), "-r", str(requirements),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stderr[-4000:]


def installed_distributions(site: Path) -> dict[str, str]:
    found = {}
    for info in site.glob("*.dist-info"):
        name, _, version = info.name.removesuffix(".dist-info").rpartition("-")
        found[name.lower().replace("_", "-")] = version
    return found


@pytest.fixture(scope="module")
def layer(tmp_path_factory) -> dict:
    """The layer as `sam build` lays it out: python/ = installed requirements + the sagedrop package."""
    python = tmp_path_factory.mktemp("layer") / "python"
    pip_install_for_lambda(ROOT / "layers/sagedrop/requirements.txt", python)
    dependencies = tree_size(python)
    code = tree_size(ROOT / "layers/sagedrop/sagedrop")
    return {"site": python, "dependencies": dependencies, "code": code, "total": dependencies + code}


def test_layer_resolves_for_the_lambda_platform(layer):
    runtime = GLOBALS["Runtime"].removeprefix("python").replace(".", "")
    machine = ARCHITECTURES[GLOBALS["Architectures"][0]]
    extensions = list(layer["site"].rglob("*.so"))
    assert extensions, "numpy/pandas ship compiled extensions"
    wanted = f"cpython-{runtime}-{machine}"
    foreign = [p.name for p in extensions if "cpython" in p.name and wanted not in p.name]
    assert not foreign, foreign[:5]


def test_layer_has_what_the_domain_code_imports_and_nothing_forbidden(layer):
    installed = installed_distributions(layer["site"])
    needed = {"aws-lambda-powertools", "aws-xray-sdk", "jsonschema", "numpy", "pandas", "boto3", "botocore"}
    assert needed <= set(installed), needed - set(installed)
    assert not NEVER_IN_LAMBDA & set(installed)


def test_boto3_and_botocore_in_the_layer_are_a_matching_pair(layer):
    # aws-xray-sdk drags botocore in; a layer botocore shadows the runtime's, so boto3 must match it.
    installed = installed_distributions(layer["site"])
    assert installed["boto3"].split(".")[1] == installed["botocore"].split(".")[1], installed


@pytest.mark.parametrize("code_uri", FUNCTION_FOLDERS)
def test_function_plus_layer_fit_lambda_unzipped_limit(layer, code_uri, tmp_path):
    folder = ROOT / code_uri
    requirements = folder / "requirements.txt"
    repeated = requirement_names(requirements) & requirement_names(ROOT / "layers/sagedrop/requirements.txt")
    assert not repeated, f"{requirements} repeats layer dependencies {repeated}"
    pip_install_for_lambda(requirements, tmp_path / "deps")
    function = tree_size(folder) + tree_size(tmp_path / "deps")
    total = function + layer["total"]
    print(
        f"\n{code_uri:32} function {function / 1e6:8.2f} MB + layer {layer['total'] / 1e6:7.2f} MB "
        f"(deps {layer['dependencies'] / 1e6:.2f} MB, sagedrop {layer['code'] / 1e6:.2f} MB) "
        f"= {total / 1e6:7.2f} MB of {LAMBDA_UNZIPPED_LIMIT / 1e6:.2f} MB"
    )
    assert total < LAMBDA_UNZIPPED_LIMIT


def _python313_env() -> dict[str, str] | None:
    """An environment in which `python3.13` runs (directly, or through a pyenv-installed 3.13)."""
    env = dict(os.environ)

    def works() -> bool:
        try:
            return subprocess.run(["python3.13", "--version"], env=env, capture_output=True, timeout=30).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    if works():
        return env
    try:
        versions = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = [v.strip() for v in versions.splitlines() if v.strip().startswith("3.13")]
    if not found:
        return None
    env["PYENV_VERSION"] = ":".join(
        [f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}", found[-1]]
    )
    return env if works() else None


def test_sam_build_lays_out_the_layer_as_estimated(layer, tmp_path):
    """Where a python3.13 exists, the real `sam build` confirms the pip estimate and the layout."""
    sam = ROOT / ".venv-sam" / "bin" / "sam"
    env = _python313_env()
    if not sam.exists() or env is None:
        pytest.skip("needs .venv-sam (aws-sam-cli) and a python3.13 interpreter for `sam build`")
    env["SAM_CLI_TELEMETRY"] = "0"
    build = tmp_path / "build"
    command = [
        str(sam),
        "build",
        "SagedropLayer",
        "--build-dir",
        str(build),
        "--cache-dir",
        str(tmp_path / "cache"),
    ]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200, check=False)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    python = build / "SagedropLayer" / "python"
    assert (python / "sagedrop" / "image_uris.py").is_file()
    assert (python / "sagedrop" / "data" / "image_uris.json").is_file()
    assert (python / "sagedrop" / "evaluation" / "templates" / "report.html.j2").is_file()
    built = tree_size(build / "SagedropLayer")
    print(f"\nsam build SagedropLayer: {built / 1e6:.2f} MB (pip estimate {layer['total'] / 1e6:.2f} MB)")
    assert abs(built - layer["total"]) < 0.02 * layer["total"]
    assert built < LAMBDA_UNZIPPED_LIMIT
