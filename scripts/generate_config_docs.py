"""Write what is generated from the run configuration model (sagedrop.run_config.RunConfig).

- layers/sagedrop/sagedrop/data/run_config.schema.json — the JSON Schema of a sagedrop.json;
- docs/configuration.md — the key table, the allowed XGBoost objectives and the Linear Learner
  defaults and losses, between marker comments.

Run ``python scripts/generate_config_docs.py`` after changing the model; ``--check`` exits 1 instead
of writing when either file is stale (tests/unit/run_config/test_generated.py runs the same check).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from sagedrop.algorithms import LINEAR_LEARNER_PROBLEMS, Algorithm
from sagedrop.problem_types import LABEL_DOMAINS, XGBOOST_OBJECTIVES
from sagedrop.run_config import default_hyperparameters, json_schema, stack_defaults

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "layers" / "sagedrop" / "sagedrop" / "data" / "run_config.schema.json"
DOCS = ROOT / "docs" / "configuration.md"


def render_schema() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def render_keys() -> str:
    """The table of docs/configuration.md: one row per key, nested keys after their parent."""
    schema = json_schema()
    defs = schema.get("$defs", {})
    stack = stack_defaults()
    lines = [
        "| Key | Type | Default | Stack parameter → environment variable | Meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, prop in schema["properties"].items():
        where = stack.get(key)
        parameter = f"`{where.parameter}` → `{where.variable}`" if where else ""
        lines.append(_row(key, prop, defs, parameter))
        nested = _object(prop, defs)
        if nested is not None:
            required = set(nested.get("required", ()))
            for name, child in nested["properties"].items():
                lines.append(_row(f"{key}.{name}", child, defs, "", required=name in required))
    return "\n".join(lines)


def render_objectives() -> str:
    lines = []
    for kind, table in XGBOOST_OBJECTIVES.items():
        own = ", ".join(f"`{name}` {value}" for name, value in table.hyperparameters.items())
        marks = {table.default: f" (*default*{', with ' + own if own else ''})"}
        names = [f"`{name}`" + marks.get(name, "") for name in table.allowed]
        lines.append(f"  - `{kind}`: {', '.join(names)}")
    domains = ", ".join(f"`{name}` {domain.says}" for name, domain in LABEL_DOMAINS.items())
    lines.append(
        f"  - labels these objectives train on: {domains}. The preparation stops a run whose label is outside"
        " (`UnusableLabelError`, naming the first such line), before any training job."
    )
    return "\n".join(lines)


def render_linear_learner() -> str:
    """sagedrop's Linear Learner defaults, then per problem type its predictor type, losses and metric."""
    defaults = default_hyperparameters(Algorithm.LINEAR_LEARNER)
    lines = ["  - defaults: " + ", ".join(f'`"{name}": "{value}"`' for name, value in defaults.items())]
    for kind, problem in LINEAR_LEARNER_PROBLEMS.items():
        losses = ", ".join(f"`{loss}`" + (" (*default*)" if i == 0 else "") for i, loss in enumerate(problem.losses))
        lines.append(
            f"  - `{kind}`: `predictor_type` `{problem.predictor_type}`; `loss` {losses}; "
            f"headline metric `{Algorithm.LINEAR_LEARNER.validation_metric(kind)}`"
        )
    return "\n".join(lines)


def render_docs(document: str) -> str:
    document = _replace_block(document, "run configuration keys", render_keys())
    document = _replace_block(document, "objectives by problem type", render_objectives())
    return _replace_block(document, "linear learner by problem type", render_linear_learner())


def _row(key: str, prop: dict[str, Any], defs: dict[str, Any], parameter: str, required: bool = False) -> str:
    default = "required" if required else f"`{_cell(json.dumps(prop['default'], ensure_ascii=False))}`"
    if "default" not in prop and not required:
        default = ""
    meaning = prop.get("description") or _resolve(prop, defs).get("description", "")
    return f"| `{key}` | {_type_text(prop, defs)} | {default} | {parameter} | {_cell(meaning)} |"


def _type_text(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    prop = _resolve(prop, defs)
    if "anyOf" in prop:
        return " or ".join(_type_text(option, defs) for option in prop["anyOf"])
    if "enum" in prop:
        return ", ".join(f"`{_cell(json.dumps(value))}`" for value in prop["enum"])
    kind = prop.get("type")
    if kind == "object":
        values = [*prop.get("properties", {}).values(), prop.get("additionalProperties")]
        types = dict.fromkeys(t for value in values if isinstance(value, dict) for t in _as_list(value.get("type")))
        types.pop(None, None)
        return "object of " + " / ".join(types) if prop.get("additionalProperties") is not False else "object"
    if kind in ("integer", "number"):
        return f"{kind} {_bounds(prop)}".rstrip()
    if kind == "string":
        if "pattern" in prop:
            example = f" (e.g. `{prop['examples'][0]}`)" if prop.get("examples") else ""
            return f"string matching `{_cell(prop['pattern'])}`{example}"
        return "non-empty string" if prop.get("minLength") == 1 else "string"
    return " / ".join(_as_list(kind))


def _bounds(prop: dict[str, Any]) -> str:
    if "minimum" in prop and "maximum" in prop:
        text = f"{prop['minimum']} – {prop['maximum']}"
    else:
        low = f"≥ {prop['minimum']}" if "minimum" in prop else None
        low = f"> {prop['exclusiveMinimum']}" if "exclusiveMinimum" in prop else low
        high = f"≤ {prop['maximum']}" if "maximum" in prop else None
        text = ", ".join(part for part in (low, high) if part)
    if "multipleOf" in prop:
        text += f", multiple of {prop['multipleOf']}"
    return text


def _object(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any] | None:
    # Models (a $ref to $defs) get a row per key; a free-form object such as hyperparameters does not.
    for option in [prop, *prop.get("anyOf", [])]:
        if "$ref" in option and "properties" in _resolve(option, defs):
            return _resolve(option, defs)
    return None


def _resolve(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" not in prop:
        return prop
    return {**defs[prop["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in prop.items() if k != "$ref"}}


def _as_list(kind: Any) -> list[str]:
    return kind if isinstance(kind, list) else [kind]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _replace_block(document: str, name: str, content: str) -> str:
    begin = f"<!-- generated: {name} (scripts/generate_config_docs.py) -->"
    end = f"<!-- end generated: {name} -->"
    if begin not in document or end not in document:
        raise SystemExit(f"{DOCS}: the markers {begin!r} and {end!r} are missing")
    head, _, rest = document.partition(begin)
    _, _, tail = rest.partition(end)
    indent = head[head.rfind("\n") + 1 :]  # a block inside a list item keeps the item's indentation
    return f"{head}{begin}\n{content}\n{indent}{end}{tail}"


def main(argv: list[str]) -> int:
    outputs = {SCHEMA: render_schema(), DOCS: render_docs(DOCS.read_text(encoding="utf-8"))}
    stale = [path for path, text in outputs.items() if path.read_text(encoding="utf-8") != text]
    if "--check" in argv:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is stale: run python scripts/generate_config_docs.py", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(outputs[path], encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
