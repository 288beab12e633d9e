"""moto's Step Functions interpreter loads without moto's EC2, and moto's Batch still works after."""

from __future__ import annotations

import subprocess
import sys
import textwrap

INTERPRETER = "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_factory"


def run(code: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True)
    return result.stdout.split()


def test_the_interpreter_imports_without_ec2_and_batch_loads_on_first_use():
    out = run(
        f"""
        import importlib, sys
        from sagedrop_local import lazy_batch
        lazy_batch.install()
        importlib.import_module("{INTERPRETER}")
        print("moto.ec2" in sys.modules, "moto.batch.models" in sys.modules)

        import boto3
        from moto import mock_aws
        with mock_aws():
            batch = boto3.client("batch", region_name="us-east-1")
            print(len(batch.describe_compute_environments()["computeEnvironments"]))
        import moto.batch
        print("moto.ec2" in sys.modules, type(moto.batch.batch_backends).__name__)
        """
    )
    assert out == ["False", "False", "0", "True", "BackendDict"]


def test_a_missing_name_is_still_an_attribute_error_after_the_package_loads():
    out = run(
        """
        from sagedrop_local import lazy_batch
        lazy_batch.install()
        import moto.batch.utils
        import moto.batch
        try:
            moto.batch.no_such_name
        except AttributeError as error:
            print("AttributeError", "batch_backends" in dir(moto.batch))
        """
    )
    assert out == ["AttributeError", "True"]


def test_without_the_hook_the_interpreter_pulls_in_ec2():
    out = run(
        f"""
        import importlib, sys
        importlib.import_module("{INTERPRETER}")
        print("moto.ec2" in sys.modules)
        """
    )
    assert out == ["True"]
