"""The in-process Lambda runtime: environments at cold start, Lambda's error payload, size limits."""

from __future__ import annotations

import json
import os

import boto3
import pytest

from sagedrop_local.lambdas import STATE_PAYLOAD_LIMIT


def test_a_handler_sees_its_own_environment_at_cold_start_and_it_is_restored(functions_package):
    body, error = functions_package.run("fn-echo", {"a": 1})
    assert error is None
    assert json.loads(body) == {"event": {"a": 1}, "greeting": "hi echo", "function": "fn-echo"}
    # a variable the function added stays until the local cloud closes (see sagedrop_local.environ)
    from sagedrop_local import environ

    environ.release_added()
    assert "GREETING" not in os.environ


def test_an_exception_becomes_lambdas_error_payload_named_by_its_class(functions_package):
    body, error = functions_package.run("arn:aws:lambda:us-east-1:123456789012:function:fn-boom", {})
    document = json.loads(body)
    assert error == "Unhandled"
    assert document["errorType"] == "InvalidCsvError"
    assert document["errorMessage"] == "line 3 has 5 fields, the header has 3"
    assert document["stackTrace"]


def test_a_second_runtime_in_the_process_gets_its_handlers_log_lines(function_declarations, tmp_path, capsys):
    # Given a first local cloud whose log file is closed once it is gone (a closed file refuses even a flush)
    import io

    from sagedrop_local.lambdas import LocalLambdaRuntime

    first = LocalLambdaRuntime(function_declarations, log=(tmp_path / "first.log").open("w"))
    assert first.run("fn-logs", {"n": 1})[1] is None
    first.forget_handlers()
    first.log.close()
    assert '"handled"' in (tmp_path / "first.log").read_text()

    # When a second cloud of the same process runs the same handler, freshly imported
    second = LocalLambdaRuntime(function_declarations, log=io.StringIO())
    try:
        assert second.run("fn-logs", {"n": 2})[1] is None
    finally:
        second.forget_handlers()

    # Then its line is in the second cloud's log, and logging wrote no error about a closed file
    assert '"event":{"n":2}' in second.log.getvalue()
    assert "Logging error" not in capsys.readouterr().err


def test_an_output_over_the_state_limit_is_an_error(functions_package):
    body, error = functions_package.run("fn-huge", {})
    assert error == "Unhandled"
    assert json.loads(body)["errorType"] == "OverflowError"
    assert str(STATE_PAYLOAD_LIMIT) in json.loads(body)["errorMessage"]


def test_lambda_invoke_through_boto3_is_answered_in_process(functions_package):
    session = boto3.Session(region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    functions_package.install(session.events)
    client = session.client("lambda")
    ok = client.invoke(FunctionName="fn-echo", Payload=b'{"x": 2}')
    assert ok["StatusCode"] == 200 and "FunctionError" not in ok
    assert json.loads(ok["Payload"].read())["event"] == {"x": 2}
    failed = client.invoke(FunctionName="fn-boom", Payload=b"{}")
    assert failed["FunctionError"] == "Unhandled"
    assert functions_package.invocations[-1].error == "InvalidCsvError"


def test_an_unknown_function_is_named(functions_package):
    with pytest.raises(KeyError, match="fn-nope"):
        functions_package.function("fn-nope")


def test_an_environment_copy_is_never_torn_by_a_function_leaving(monkeypatch):
    # The local SageMaker copies os.environ for its container processes while handlers come and go.
    import threading

    from sagedrop_local import environ

    stop = threading.Event()
    torn: list[BaseException] = []

    def come_and_go():
        while not stop.is_set():
            environ.restore(environ.apply({f"SAGEDROP_TEST_{i}": "x" for i in range(50)}))

    worker = threading.Thread(target=come_and_go)
    worker.start()
    try:
        for _ in range(2000):
            try:
                environ.snapshot()
            except KeyError as error:  # what a bare dict(os.environ) raises when a key leaves under it
                torn.append(error)
            try:
                dict(os.environ)  # code we do not own (botocore, moto) copies it without our lock
            except KeyError as error:
                torn.append(error)
    finally:
        stop.set()
        worker.join()
        environ.release_added()

    assert torn == []
    assert not any(name.startswith("SAGEDROP_TEST_") for name in os.environ)


def test_no_two_functions_of_the_template_give_one_variable_different_values(tmp_path):
    # Why a variable a function added may stay until the cloud closes: any later function either sets
    # the same value itself or does not read it.
    from sagedrop_local.cloud import LocalCloud

    with LocalCloud(work_dir=tmp_path / "out", state_dir=tmp_path / "state") as cloud:
        functions = {function.logical_id: function for function in cloud.lambdas._by_name.values()}.values()
        values: dict[str, set[str]] = {}
        for function in functions:
            for name, value in function.environment.items():
                values.setdefault(name, set()).add(value)
    assert len(functions) > 10
    assert {name: found for name, found in values.items() if len(found) > 1} == {}
