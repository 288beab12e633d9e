"""A throwaway `functions` package the in-process Lambda runtime can import."""

from __future__ import annotations

import sys
import textwrap

import pytest

from sagedrop_local.lambdas import LocalLambdaRuntime
from sagedrop_local.stack import LocalFunction


@pytest.fixture
def function_declarations(tmp_path, monkeypatch) -> dict[str, LocalFunction]:
    """A throwaway `functions` package with a few handlers, importable as functions.<name>.app, declared."""
    root = tmp_path / "functions"
    handlers = {
        "echo": """
            import os
            SEEN_AT_IMPORT = os.environ.get("GREETING")
            def lambda_handler(event, context):
                return {"event": event, "greeting": SEEN_AT_IMPORT, "function": context.function_name}
        """,
        "boom": """
            class InvalidCsvError(Exception):
                pass
            def lambda_handler(event, context):
                raise InvalidCsvError("line 3 has 5 fields, the header has 3")
        """,
        "huge": """
            def lambda_handler(event, context):
                return {"blob": "x" * 300_000}
        """,
        "logs": """
            from aws_lambda_powertools import Logger
            logger = Logger()
            def lambda_handler(event, context):
                logger.info("handled", extra={"event": event})
                return {}
        """,
    }
    for name, code in handlers.items():
        (root / name).mkdir(parents=True)
        (root / name / "__init__.py").write_text("")
        (root / name / "app.py").write_text(textwrap.dedent(code))
    (root / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    for module in [m for m in sys.modules if m == "functions" or m.startswith("functions.")]:
        monkeypatch.delitem(sys.modules, module)
    return {
        name: LocalFunction(
            name,
            name,
            "app.lambda_handler",
            f"fn-{name}",
            f"arn:aws:lambda:us-east-1:123456789012:function:fn-{name}",
            # a service of its own: Powertools configures a service's logger once per process
            {"GREETING": f"hi {name}", "POWERTOOLS_SERVICE_NAME": f"sagedrop-test-{tmp_path.name}"},
        )
        for name in handlers
    }


@pytest.fixture
def functions_package(function_declarations):
    """A runtime of the throwaway package's handlers."""
    runtime = LocalLambdaRuntime(function_declarations)
    yield runtime
    runtime.forget_handlers()
