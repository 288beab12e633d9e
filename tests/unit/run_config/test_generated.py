"""The schema file and the key table of docs/configuration.md are what the model generates."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from sagedrop.run_config import RunConfig, stack_defaults

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "generate_config_docs.py"


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("generate_config_docs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_schema_file_is_current(generator):
    assert generator.SCHEMA.read_text(encoding="utf-8") == generator.render_schema(), (
        "run python scripts/generate_config_docs.py"
    )


def test_the_configuration_docs_are_current(generator):
    current = generator.DOCS.read_text(encoding="utf-8")
    assert current == generator.render_docs(current), "run python scripts/generate_config_docs.py"
    assert generator.main(["--check"]) == 0


def test_the_check_notices_a_stale_table(generator, tmp_path, monkeypatch):
    stale = tmp_path / "configuration.md"
    stale.write_text(generator.DOCS.read_text(encoding="utf-8").replace("| `seed` |", "| `sead` |"), encoding="utf-8")
    monkeypatch.setattr(generator, "DOCS", stale)
    monkeypatch.setattr(generator, "ROOT", tmp_path)
    monkeypatch.setattr(generator, "SCHEMA", tmp_path / "schema.json")
    (tmp_path / "schema.json").write_text(generator.render_schema(), encoding="utf-8")
    assert generator.main(["--check"]) == 1
    assert generator.main([]) == 0
    assert "| `seed` |" in stale.read_text(encoding="utf-8")


def test_every_key_has_a_row_a_description_and_its_stack_parameter(generator):
    table = generator.render_keys()
    for name, field in RunConfig.model_fields.items():
        assert f"| `{name}` |" in table
        assert field.description, f"{name} has no description"
    for stack in stack_defaults().values():
        assert f"`{stack.parameter}` → `{stack.variable}`" in table
