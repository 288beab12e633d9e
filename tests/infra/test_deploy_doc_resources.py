"""docs/deploy.md's function table, Outputs table, counts and file paths agree with the repository.

template.yaml declares the functions and the Outputs; docs/deploy.md repeats them for readers:

* the table of functions under "What the stack creates" (``| Function | Runs as | May do |``) has
  one row per AWS::Serverless::Function of the template, named by its logical id without the
  ``Function`` suffix (``StartPipeline``), and no row for a function the template does not have;
* the ``| Output | Use |`` table lists exactly the template's Outputs;
* the doc states no count of functions or state-machine tasks (it says "every function" instead):
  a number written before "functions" or "state-machine tasks" must be the template's, so a count
  that is added later cannot go stale unnoticed;
* every repository path in backticks (``layers/sagedrop/sagedrop/data/image_uris.json``) exists.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from . import doc_tables
from .conftest import ROOT, STATE_MACHINES

DEPLOY_DOC = ROOT / "docs" / "deploy.md"
CONFIGURATION_DOC = ROOT / "docs" / "configuration.md"
FUNCTION_HEADER = ("Function", "Runs as", "May do")
OUTPUT_HEADER = ("Output", "Use")
FUNCTION = "AWS::Serverless::Function"
SUFFIX = "Function"


def table_rows(header: tuple[str, ...], path: Path = DEPLOY_DOC) -> list[tuple[list[str], int]]:
    """(cells, line number) of each body row of every table of ``path`` (deploy.md) whose header row is ``header``."""
    return doc_tables.table_rows(header, path)


def _names(cell: str) -> list[str]:
    """The names in a first cell: one, or several separated by commas, with or without backticks."""
    return [name.strip().strip("`") for name in cell.split(",") if name.strip()]


def documented_functions(path: Path = DEPLOY_DOC) -> list[tuple[str, int]]:
    return [(name, line) for cells, line in table_rows(FUNCTION_HEADER, path) for name in _names(cells[0])]


def _template_functions(resources: dict) -> list[str]:
    return [logical_id for logical_id, resource in resources.items() if resource["Type"] == FUNCTION]


def _short(logical_id: str) -> str:
    return logical_id.removesuffix(SUFFIX)


# --- the function table --------------------------------------------------------------------------
def test_the_doc_has_a_function_table():
    # Guards the tests below against passing on an empty table (a renamed header, say).
    assert len(documented_functions()) >= 10, f"{DEPLOY_DOC.name}: no | Function | Runs as | May do | table found"


def test_every_template_function_has_a_row(resources):
    documented = {name for name, _ in documented_functions()}
    missing = [_short(f) for f in _template_functions(resources) if _short(f) not in documented]
    assert missing == [], f"functions of template.yaml without a row in docs/deploy.md's table: {', '.join(missing)}"


def test_every_row_names_a_template_function_once(resources):
    declared = {_short(f) for f in _template_functions(resources)}
    unknown = [f"{name} (line {line})" for name, line in documented_functions() if name not in declared]
    assert unknown == [], f"docs/deploy.md's function table names functions template.yaml lacks: {', '.join(unknown)}"
    names = [name for name, _ in documented_functions()]
    twice = sorted({n for n in names if names.count(n) > 1})
    assert twice == [], f"functions with more than one row in docs/deploy.md's table: {', '.join(twice)}"


# --- counts --------------------------------------------------------------------------------------
UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
NUMBER = r"\d+|(?:" + "|".join([*TENS, *UNITS]) + r")(?:[- ](?:" + "|".join(UNITS[1:10]) + r"))?"
#: "<number> [Lambda] functions" and "<number> [state-machine] tasks", with markup such as ** between.
COUNT = re.compile(
    rf"\b(?P<number>{NUMBER})\W{{0,3}}\s+(?:Lambda\s+)?(?P<what>functions|state[- ]machine\s+tasks|tasks)\b",
    re.IGNORECASE,
)


def _number(text: str) -> int:
    text = text.lower()
    if text.isdigit():
        return int(text)
    tens, _, unit = re.sub(r"[- ]", " ", text).partition(" ")
    if tens in TENS:
        return TENS[tens] + (UNITS.index(unit) if unit else 0)
    return UNITS.index(tens)


def stated_counts(text: str) -> list[tuple[str, int, str]]:
    """(phrase, number, what) for each count of functions or tasks in ``text``."""
    return [(m.group(0), _number(m.group("number")), m.group("what").lower()) for m in COUNT.finditer(text)]


def test_the_count_parser_reads_words_and_digits():
    # The test below is only as good as this: "ten functions" must be read as 10, not skipped.
    assert stated_counts("builds the **Ten functions** and the 27 functions") == [
        ("Ten functions", 10, "functions"),
        ("27 functions", 27, "functions"),
    ]
    assert [n for _, n, _ in stated_counts("twenty-seven functions; the eight state-machine tasks")] == [27, 8]
    assert stated_counts("every function; each state-machine task") == []


def test_every_count_of_functions_or_tasks_is_the_templates(resources):
    functions = len(_template_functions(resources))
    tasks = len(
        {
            value["Fn::GetAtt"][0]
            for machine in STATE_MACHINES
            for value in resources[machine]["Properties"]["DefinitionSubstitutions"].values()
        }
    )
    expected = {"functions": functions}
    wrong = []
    for phrase, number, what in stated_counts(DEPLOY_DOC.read_text(encoding="utf-8")):
        want = expected.get(what, tasks)
        if number != want:
            wrong.append(f"{phrase!r} (template.yaml: {want})")
    assert wrong == [], f"docs/deploy.md states counts that template.yaml does not have: {'; '.join(wrong)}"


# --- the Outputs table ---------------------------------------------------------------------------
def test_the_outputs_table_lists_exactly_the_templates_outputs(template):
    rows = table_rows(OUTPUT_HEADER)
    documented = [cells[0].strip("`") for cells, _ in rows]
    assert len(documented) == len(set(documented)), f"an Output has two rows in docs/deploy.md: {documented}"
    declared = list(template["Outputs"])
    assert sorted(documented) == sorted(declared), (
        f"docs/deploy.md's Outputs table: missing {sorted(set(declared) - set(documented))}, "
        f"not in template.yaml {sorted(set(documented) - set(declared))}"
    )


# --- paths ---------------------------------------------------------------------------------------
#: An inline code span, which may run over a line break; fenced code blocks are removed first.
CODE_SPAN = re.compile(r"(?<!`)`([^`]+)`(?!`)")
FENCE = re.compile(r"^\s*```.*?^\s*```", re.MULTILINE | re.DOTALL)
#: S3 keys, URLs, ARNs, globs and placeholders are not repository paths.
NOT_A_PATH = ("<", ">", "*", "{", "}", "?", "$", "=", ":")
EXTENSION = re.compile(r"\.[A-Za-z0-9]+$")
TOP_LEVEL = {entry.name for entry in ROOT.iterdir()}


def repository_paths(text: str) -> list[str]:
    """Code spans that name a file or folder of the repository, relative to its root.

    A span counts when it is one token with a ``/`` that ends in a file extension, or a folder of at
    least two segments ending in ``/`` (``tests/infra/``; a lone ``data/`` is as likely a folder of
    the built layer or of a run); has no placeholder or glob character; does not start with ``/``
    (log groups) or ``s3:``/``http``; and its first segment is an entry at the repository root
    (``layers``, ``docs``, ``tests``...): keys in the data bucket (``runs/``, ``incoming/``) and
    paths inside the built layer (``python/sagedrop/``) are not the repository's.
    """
    paths = []
    for match in CODE_SPAN.finditer(FENCE.sub("", text)):
        span = match.group(1).strip()
        if re.search(r"\s", span) or "/" not in span or span.startswith(("/", "s3:", "http")):
            continue
        if any(char in span for char in NOT_A_PATH):
            continue
        if not (EXTENSION.search(span) or (span.endswith("/") and span.count("/") >= 2)):
            continue
        if span.split("/", 1)[0] not in TOP_LEVEL:
            continue
        paths.append(span)
    return paths


def test_the_path_finder_keeps_repository_paths_and_skips_keys_and_urls():
    text = (
        "see `layers/sagedrop/sagedrop/data/image_uris.json` and `tests/infra/`, not `runs/<run-id>/x.json`,\n"
        "`incoming/*.csv`, `runs/`, `python/sagedrop/`, `data/`, `s3://b/k.csv`, `/aws/lambda/x.log`, `docs/a b.md`\n"
        "```bash\nls `docs/in-a-fence.md`\n```\n"
    )
    assert repository_paths(text) == ["layers/sagedrop/sagedrop/data/image_uris.json", "tests/infra/"]


@pytest.mark.parametrize("doc", [DEPLOY_DOC, CONFIGURATION_DOC], ids=lambda path: path.name)
def test_every_repository_path_named_in_the_doc_exists(doc):
    paths = repository_paths(doc.read_text(encoding="utf-8"))
    assert paths, f"{doc.name}: no repository path found (has the path finder stopped matching?)"
    missing = sorted({path for path in paths if not (ROOT / path).exists()})
    assert missing == [], f"{doc.name} names files or folders that do not exist: {', '.join(missing)}"
