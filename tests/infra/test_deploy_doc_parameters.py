"""docs/deploy.md's parameter table agrees with template.yaml's Parameters (one declaration per fact).

template.yaml declares each parameter and its Default; the table in docs/deploy.md repeats them for
readers. Every row must name a parameter the template has, with the template's Default, and every
parameter must have a row: no other document has a parameter table, so the one in deploy.md is the
complete list. The default hyperparameters are also described in words, in deploy.md and
docs/configuration.md ("`eta` 0.05"); each value written that way must be the template's too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT
from .doc_tables import table_rows

DEPLOY_DOC = ROOT / "docs" / "deploy.md"
HEADER = ("Parameter", "Default", "Meaning")
#: How the table writes an empty-string Default (a bare word, not in backticks).
EMPTY = "empty"


def parameter_rows(path: Path = DEPLOY_DOC) -> list[tuple[str, str, int]]:
    """(parameter, Default cell, line number) for each row of every ``| Parameter | Default | Meaning |`` table."""
    return [(row[0].strip("`"), row[1], number) for row, number in table_rows(HEADER, path)]


ROWS = parameter_rows()


def _documented_default(name: str, cell: str, line: int) -> str:
    if cell == EMPTY:
        return ""
    assert cell.startswith("`") and cell.endswith("`"), (
        f"{name}: docs/deploy.md:{line}: the Default {cell!r} is neither `code` nor {EMPTY!r}"
    )
    return cell.strip("`")


def _same(documented: str, declared: Any) -> bool:
    """Compared as strings (60 is "60"); a JSON object Default is compared as parsed JSON."""
    declared_text = str(declared).lower() if isinstance(declared, bool) else str(declared)
    if declared_text.startswith("{"):
        try:
            return json.loads(documented) == json.loads(declared_text)
        except json.JSONDecodeError:
            return False
    return documented == declared_text


def test_the_doc_has_a_parameter_table():
    # Guards the parametrised test below against passing on an empty table (a renamed header, say).
    assert len(ROWS) >= 10, f"{DEPLOY_DOC.name}: no | Parameter | Default | Meaning | table found"


def test_no_parameter_has_two_rows():
    names = [name for name, _, _ in ROWS]
    assert sorted({n for n in names if names.count(n) > 1}) == []


@pytest.mark.parametrize(("name", "cell", "line"), ROWS, ids=[name for name, _, _ in ROWS])
def test_each_row_has_the_templates_default(template, name, cell, line):
    parameters = template["Parameters"]
    assert name in parameters, f"docs/deploy.md:{line}: {name} is not a parameter of template.yaml"
    assert "Default" in parameters[name], f"template.yaml's {name} has no Default, docs/deploy.md:{line} says {cell}"
    declared = parameters[name]["Default"]
    documented = _documented_default(name, cell, line)
    assert _same(documented, declared), (
        f"{name}: docs/deploy.md:{line} says the default is {documented!r}, template.yaml's Default is {declared!r}"
    )


def test_every_template_parameter_has_a_row(template):
    documented = {name for name, _, _ in ROWS}
    missing = [name for name in template["Parameters"] if name not in documented]
    assert missing == [], f"template.yaml parameters without a row in docs/deploy.md's table: {', '.join(missing)}"


# --- DefaultHyperparameters in prose ------------------------------------------------------------
CONFIGURATION_DOC = ROOT / "docs" / "configuration.md"
#: A hyperparameter's value written in prose: "`eta` 0.05", "`subsample` and `colsample_bytree` 0.8".
PROSE_VALUE = re.compile(r"(?P<names>(?:`\w+`(?:,\s+|\s+and\s+))*`\w+`)\s+(?P<value>\d+(?:\.\d+)?)\b")


def prose_values(text: str) -> list[tuple[str, str]]:
    """(name, value) for each hyperparameter value written as "`name` value" in ``text``."""
    return [
        (name, match.group("value"))
        for match in PROSE_VALUE.finditer(text)
        for name in re.findall(r"`(\w+)`", match.group("names"))
    ]


def test_prose_values_are_read_with_names_that_share_one():
    text = "`eta` 0.05 with early stopping (`early_stopping_rounds`\n50), `subsample` and `colsample_bytree` 0.8, `x` y"
    assert prose_values(text) == [
        ("eta", "0.05"),
        ("early_stopping_rounds", "50"),
        ("subsample", "0.8"),
        ("colsample_bytree", "0.8"),
    ]


@pytest.mark.parametrize("doc", [DEPLOY_DOC, CONFIGURATION_DOC], ids=lambda path: path.name)
def test_default_hyperparameters_named_in_prose_have_the_templates_values(template, doc):
    # The docs describe the default set in words too ("`eta` 0.05 with early stopping ..."); a value
    # written that way must be DefaultHyperparameters' Default (template.yaml), as the table's is.
    defaults = json.loads(template["Parameters"]["DefaultHyperparameters"]["Default"])
    stated = [(name, value) for name, value in prose_values(doc.read_text(encoding="utf-8")) if name in defaults]
    assert stated, f"{doc.name} names no default hyperparameter's value (has the pattern stopped matching?)"
    wrong = [
        f"`{name}` {value} (template.yaml: {defaults[name]})"
        for name, value in stated
        if float(value) != float(defaults[name])
    ]
    assert wrong == [], f"{doc.name} states default hyperparameters template.yaml does not have: {', '.join(wrong)}"
