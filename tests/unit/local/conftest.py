"""A throwaway `functions` package the in-process Lambda runtime can import."""

from __future__ import annotations

import sys
import textwrap

import pytest

from sagedrop_local.lambdas import LocalLambdaRuntime
from sagedrop_local.stack import LocalFunction


@pytest.fixture
def functions_package(tmp_path, monkeypatch):
    """A throwaway `functions` package with a few handlers, importable as functions.<name>.app."""
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
    }
    for name, code in handlers.items():
        (root / name).mkdir(parents=True)
        (root / name / "__init__.py").write_text("")
        (root / name / "app.py").write_text(textwrap.dedent(code))
    (root / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    for module in [m for m in sys.modules if m == "functions" or m.startswith("functions.")]:
        monkeypatch.delitem(sys.modules, module)
    runtime = LocalLambdaRuntime(
        {
            name: LocalFunction(
                name,
                name,
                "app.lambda_handler",
                f"fn-{name}",
                f"arn:aws:lambda:us-east-1:123456789012:function:fn-{name}",
                {"GREETING": f"hi {name}"},
            )
            for name in handlers
        }
    )
    yield runtime
    runtime.forget_handlers()
