"""Local pipeline vs. a direct one-process script, on the same data, same split and hyperparameters.

    python benchmarks/pipeline_bench.py [CSV] [--label y]

Runs each as its own process (so both pay their interpreter start and imports) and prints:
the direct script's wall time, the local pipeline's wall time (whole `sagedrop local run`
process, and the execution alone from upload to its last state), their ratio, the run's state
transitions and history events, and both accuracies. A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return elapsed, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("csv", nargs="?", default=str(ROOT / "data" / "bank-full.csv.gz"))
    parser.add_argument("--label", default="y")
    args = parser.parse_args()

    direct_wall, direct_out = timed([sys.executable, "benchmarks/direct_xgboost.py", args.csv, "--label", args.label])
    direct = json.loads(direct_out.strip().splitlines()[-1])

    with tempfile.TemporaryDirectory() as scratch:
        out, state = Path(scratch) / "out", Path(scratch) / "state"
        pipeline_wall, _ = timed(
            [
                sys.executable,
                "-m",
                "sagedrop_local.cli",
                "local",
                "run",
                args.csv,
                "--label",
                args.label,
                "--out",
                str(out),
                "--state-dir",
                str(state),
            ]
        )
        run = json.loads((out / "run.json").read_text())
        evaluation = json.loads((out / "evaluation.json").read_text())
    execution = (datetime.fromisoformat(run["stopped_at"]) - datetime.fromisoformat(run["started_at"])).total_seconds()
    per_state: dict[str, float] = {}
    for visit in run["states"]:
        per_state[visit["state"]] = per_state.get(visit["state"], 0.0) + (visit["seconds"] or 0.0)

    print(f"data: {args.csv} ({direct['rows']:,} rows, {direct['features']} features after encoding)")
    print(f"{'':34}{'direct script':>16}{'local pipeline':>16}")
    print(f"{'wall time, whole process (s)':34}{direct_wall:16.2f}{pipeline_wall:16.2f}")
    direct_work = direct["seconds"]["total"] - direct["seconds"]["import"]
    print(f"{'  of which the work itself (s)':34}{direct_work:16.2f}{execution:16.2f}")
    print(f"{'accuracy on the test split':34}{direct['accuracy']:16.4f}{evaluation['metrics']['accuracy']:16.4f}")
    print(f"{'ROC AUC':34}{direct['roc_auc']:16.4f}{evaluation['metrics']['roc_auc']:16.4f}")
    print(f"ratio pipeline/direct, whole process: {pipeline_wall / direct_wall:.2f}x (goal <= 2x)")
    print(f"state transitions: {run['state_transitions']}, history events: {run['history_events']}")
    print("time per state (s): " + ", ".join(f"{name} {seconds:.2f}" for name, seconds in per_state.items()))


if __name__ == "__main__":
    main()
