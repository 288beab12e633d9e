"""The XGBoost image table shipped in the layer, and its agreement with the SageMaker SDK."""

from __future__ import annotations

import json
import subprocess

import pytest

from sagedrop.errors import InvalidConfigError
from sagedrop.image_uris import image_uri, supported_regions, supported_versions, xgboost_image_uri

from .conftest import ROOT, SDK_VENV, aws_offline_env, load_template, side_python

TABLE = ROOT / "layers/sagedrop/sagedrop/data/image_uris.json"


def test_lookup_returns_the_regional_image():
    assert xgboost_image_uri("us-east-1", "3.0-5") == (
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
    )
    assert xgboost_image_uri("cn-north-1", "1.7-1").endswith(
        ".dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:1.7-1"
    )


def test_unknown_region_is_named():
    with pytest.raises(InvalidConfigError, match="mars-east-1"):
        xgboost_image_uri("mars-east-1", "3.0-5")


def test_unknown_version_is_named_with_the_supported_ones():
    with pytest.raises(InvalidConfigError, match=r"'0\.72'.*1\.7-1, 3\.0-5"):
        xgboost_image_uri("us-east-1", "0.72")


def test_every_entry_is_the_sagemaker_xgboost_repository_in_its_own_region():
    for version in supported_versions():
        regions = supported_regions(version)
        assert len(regions) >= 30, version
        for region in regions:
            uri = xgboost_image_uri(region, version)
            registry, _, repository = uri.partition("/")
            assert repository == f"sagemaker-xgboost:{version}"
            assert f".dkr.ecr.{region}." in registry


def test_template_offers_exactly_the_versions_in_the_table():
    allowed = load_template()["Parameters"]["XGBoostVersion"]["AllowedValues"]
    assert sorted(allowed) == supported_versions()


def test_table_agrees_with_the_sagemaker_sdk_for_every_region():
    python = side_python(SDK_VENV)
    if python is None:
        pytest.skip(
            f"SageMaker SDK not installed: python3 -m venv {SDK_VENV.name} && "
            f"{SDK_VENV.name}/bin/pip install sagemaker-core"
        )
    args = [str(python), str(ROOT / "scripts/generate_image_uris.py"), "--stdout"]
    result = subprocess.run(
        args, cwd=ROOT, env=aws_offline_env(), capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    from_sdk = json.loads(result.stdout)["images"]
    shipped = json.loads(TABLE.read_text(encoding="utf-8"))["images"]
    for framework, versions in from_sdk.items():
        for version, regions in versions.items():
            missing = sorted(set(regions) - set(shipped[framework][version]))
            assert not missing, f"regions the SDK knows but the table lacks (rerun the generator): {missing}"
            for region, uri in regions.items():
                assert shipped[framework][version][region] == uri, (framework, version, region)
    assert from_sdk == shipped


@pytest.mark.parametrize(
    ("framework", "repository"),
    [("linear-learner", "linear-learner:1"), ("sklearn", "sagemaker-scikit-learn:1.4-2-py312-cpu-py3")],
)
def test_the_pipeline_images_exist_in_every_region_xgboost_does(framework, repository):
    # A region where XGBoost trains must also host the inference pipeline and the second algorithm.
    for region in supported_regions("3.0-5"):
        uri = image_uri(framework, region)
        assert uri.endswith(f"/{repository}") and f".dkr.ecr.{region}." in uri
