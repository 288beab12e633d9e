"""Write the generated parts of docs/CONTRACTS.md: the functions, the step map and the run state's shape.

Sources: sagedrop.pipeline.steps (one declaration per step), sagedrop.pipeline.state (the models),
statemachine/*.asl.json (state names, ResultPaths) and template.yaml (every function's folder, logical
id and event sources, and which state machine's placeholders name it).
Run ``python scripts/generate_contracts.py`` after changing any of them; a test fails while the
document is stale. ``--check`` exits 1 instead of writing.
"""

from __future__ import annotations

import json
import re
import sys
import typing
from pathlib import Path

from sagedrop.pipeline import state
from sagedrop.pipeline.steps import STEPS, substitution_key
from sagedrop_local.stack import load_template

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / "docs" / "CONTRACTS.md"
ASL = ROOT / "statemachine" / "pipeline.asl.json"
TEMPLATE = ROOT / "template.yaml"
BEGIN, END = "<!-- generated: steps and run state (scripts/generate_contracts.py) -->", "<!-- end generated -->"
FUNCTIONS_BEGIN = "<!-- generated: functions (scripts/generate_contracts.py) -->"
FUNCTIONS_END = "<!-- end generated: functions -->"
SECTIONS = (
    state.RunState,
    state.SourceObject,
    state.Polling,
    state.Prepared,
    state.DatasetSummary,
    state.Channels,
    state.Training,
    state.Endpoint,
    state.Evaluation,
    state.Finished,
    state.Failure,
    state.FailureHandled,
)


def states_by_function(asl: dict) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, definition in asl["States"].items():
        match = re.fullmatch(r"\$\{(\w+)\}", str(definition.get("Resource", "")))
        if match:
            found.setdefault(match.group(1), []).append(name)
    return found


def render_functions(template: dict) -> str:
    """Every function of template.yaml: its folder, logical id, and what invokes it."""
    resources = template["Resources"]
    invokers: dict[str, list[str]] = {}
    for machine_id, machine in resources.items():
        if machine["Type"] != "AWS::Serverless::StateMachine":
            continue
        properties = machine["Properties"]
        by_key = states_by_function(json.loads((ROOT / properties["DefinitionUri"]).read_text()))
        for key, target in properties.get("DefinitionSubstitutions", {}).items():
            function_id = target.get("Fn::GetAtt", [None])[0] if isinstance(target, dict) else None
            if function_id and key in by_key:
                names = ", ".join(f'"{name}"' for name in by_key[key])
                invokers.setdefault(function_id, []).append(f"{machine_id} {names}")
    lines = [
        FUNCTIONS_BEGIN,
        "| function folder (handler `app.py`) | logical id | invoked by |",
        "| --- | --- | --- |",
    ]
    functions = {key: value for key, value in resources.items() if value["Type"] == "AWS::Serverless::Function"}
    for function_id, function in sorted(functions.items(), key=lambda item: item[1]["Properties"]["CodeUri"]):
        properties = function["Properties"]
        sources = list(invokers.get(function_id, []))
        for event in properties.get("Events", {}).values():
            sources.append(_event_source(event))
        lines.append(f"| `{properties['CodeUri']}` | {function_id} | {'; '.join(sources) or '—'} |")
    lines.append(FUNCTIONS_END)
    return "\n".join(lines)


def _event_source(event: dict) -> str:
    properties = event.get("Properties", {})
    if event["Type"] == "EventBridgeRule":
        name = properties.get("RuleName", "")
        name = name.get("Fn::Sub", name) if isinstance(name, dict) else name
        return f"EventBridge rule `{str(name).replace('${AWS::StackName}', '<stack>')}`"
    if event["Type"] == "ScheduleV2":
        expression = properties.get("ScheduleExpression")
        parameter = expression.get("Ref") if isinstance(expression, dict) else expression
        return f"EventBridge Scheduler (`{parameter}`)"
    return event["Type"]


def _type_text(annotation: object) -> str:
    text = str(annotation) if typing.get_origin(annotation) else getattr(annotation, "__name__", str(annotation))
    text = re.sub(r"\b(typing|sagedrop\.[\w.]+)\.", "", text)
    text = re.sub(r"Annotated\[RunConfig, [^\]]*\]+", "RunConfig", text)
    return text.replace("NoneType", "null").replace("|", "\\|")


def render(asl: dict) -> str:
    by_function = states_by_function(asl)
    lines = [
        BEGIN,
        "### Steps: ASL state → function folder → domain function → run state",
        "",
        "| ASL state | function folder (handler `app.py`) | domain function | parses the state as | "
        "returns (ResultPath) | adapters |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for step in STEPS:
        names = ", ".join(f'"{name}"' for name in by_function.get(substitution_key(step.function), []))
        lines.append(
            f"| {names} | `functions/{step.function}/` | `{step.domain}` | `{step.reads.__name__}` | "
            f"`{step.writes.__name__}` (`{step.result_path}`) | {', '.join(step.adapters)} |"
        )
    lines += [
        "",
        "### The run state",
        "",
        "Each handler parses the document into its step's input model (the same document with the "
        "sections the step reads required); a missing or malformed section fails the step with "
        "`InvalidEventError` naming its path. Values that are unknown are left out, not `null`.",
    ]
    for model in SECTIONS:
        lines += ["", f"**`{model.__name__}`** — {(model.__doc__ or '').strip().splitlines()[0]}", ""]
        lines += ["| field | type | required |", "| --- | --- | --- |"]
        for name, field in model.model_fields.items():
            required = "yes" if field.is_required() else ""
            lines.append(f"| `{field.alias or name}` | `{_type_text(field.annotation)}` | {required} |")
    lines.append(END)
    return "\n".join(lines)


def updated(document: str, generated: str, begin: str = BEGIN, end: str = END) -> str:
    """``document`` with the block between ``begin`` and ``end`` replaced (appended when it has none)."""
    if begin in document and end in document:
        head, _, rest = document.partition(begin)
        _, _, tail = rest.partition(end)
        return head + generated + tail
    return document.rstrip("\n") + "\n\n## Pipeline steps and run state (generated)\n\n" + generated + "\n"


def main(argv: list[str]) -> int:
    current = CONTRACTS.read_text()
    new = updated(current, render(json.loads(ASL.read_text())))
    if FUNCTIONS_BEGIN not in new:
        raise SystemExit(f"docs/CONTRACTS.md has no {FUNCTIONS_BEGIN} block to fill")
    new = updated(new, render_functions(load_template(TEMPLATE)), FUNCTIONS_BEGIN, FUNCTIONS_END)
    if "--check" in argv:
        if new != current:
            print("docs/CONTRACTS.md is stale: run python scripts/generate_contracts.py", file=sys.stderr)
            return 1
        return 0
    CONTRACTS.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
