"""Preprocessing at size: throughput and peak memory of the streamed preparation against whole-file paths.

Generates bank-like CSVs (bank-full's rows repeated, numbers perturbed; written as a stream, never
held) of 100 MB, 500 MB and 2 GB in the temp folder, then measures, each in a child process of its
own (peak RSS from ``os.wait4``):

* ``streamed``: ``sagedrop.preparation.core.prepare_upload`` (scan + write, with the spill of pass
  1 in the temp folder) into a temp folder — what the pipeline and ``sagedrop prepare`` run;
* ``whole-file prepare``: the previous path, ``prepare_dataset`` on the file's bytes (skipped where
  its ~10x memory would not fit this machine);
* ``pandas whole-file``: ``pd.read_csv`` of the whole file, ``get_dummies``, ``to_csv`` — the
  notebook approach (skipped where its ~4x memory would not fit);
* ``pyarrow read (ceiling)``: a bare streaming read with ``pyarrow.csv.open_csv``, in the
  interpreter ``--arrow-python`` names (one with pyarrow; not the project's venv, whose pandas would
  change its default string type where pyarrow is importable);
* ``evaluation (endpoint)``: ``sagedrop.pipeline.evaluating.evaluate_run`` on the streamed
  preparation's output (kept in a folder served as the bucket), the raw test split sent through a
  stand-in endpoint that answers the predictions contract in process (the model's own work is the
  endpoint's, not the Lambda's); metrics, charts and report.html included;
* ``evaluation (transform)``: the same on the Batch Transform route, reading a transform output
  (generated beforehand: the test split's staged requests, each joined with an answer per row);
* ``whole-file evaluation``: what the evaluation did before it streamed — every test part and the
  raw test split read whole, then ``predict_raw_csv`` — with the same stand-in endpoint.

``--local-run 100,1000`` adds a table: ``sagedrop local run`` of CSVs of those sizes through the
local Processing route (``--parameter LambdaPrepareMaxBytes=0``), 20 rounds, with the stack's other
defaults (the evaluation by the endpoint up to ``EVALUATION_TRANSFORM_BYTES`` of raw test split, by
a Batch Transform job above, so at 1 GB): its MB/s over the whole command, and the command's peak
RSS (moto's S3, the Lambdas, the state machine and the local SageMaker; the Processing job and the
model servers are processes of their own), overall and before, during and after the training job.
The local SageMaker trains in a thread of the command, and training may need memory in proportion
to the data, as a real training instance does; the other phases should not.

The evaluation columns' MB/s are of the raw test split (15 % of the CSV by default). The endpoint
route is not measured where the raw test split is over ``EVALUATION_TRANSFORM_BYTES``: the pipeline
takes the transform route there.
Goals (issue 10): peak RSS under 400 MB at every size (preparation and evaluation), and at least 3x
the pandas path's throughput. ``--sizes 100`` runs a subset.

``--pairs N`` then runs the streamed preparation and the pandas path N more times back to back per
size and prints each pair's throughput ratio and their median: the table's columns run minutes
apart, and a shared machine's speed drifts by a third in that time, so one pair run together is the
steadier measure of the ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from sagedrop.limits import EVALUATION_TRANSFORM_BYTES

ROOT = Path(__file__).resolve().parents[1]
BANK = ROOT / "data" / "bank-full.csv.gz"
MB = 1_000_000
GOAL_RSS_MB = 400
# What the whole-file paths hold, in multiples of the file (measured at 500 MB: 10.1, 3.4 and 1.0);
# each runs only where that fits with room.
WHOLE_FILE_MEMORY_FACTORS = {"whole-file prepare": 10, "pandas whole-file": 4, "whole-file evaluation": 2}
ARROW = "pyarrow read (ceiling)"
#: The ceiling: a bare streaming read with pyarrow's CSV reader (no rules, no encoding, nothing
#: written), in an interpreter that has pyarrow (--arrow-python): the project's own venv must not,
#: since pandas would change its default string type where pyarrow is importable.
ARROW_READ = "import sys\nimport pyarrow.csv\nfor _batch in pyarrow.csv.open_csv(sys.argv[1]):\n    pass\n"


def generate(size_mb: int, folder: Path) -> Path:
    """A bank-like CSV of about ``size_mb`` MB (reused when present)."""
    path = folder / f"sagedrop-bench-{size_mb}MB.csv"
    if path.exists() and abs(path.stat().st_size - size_mb * MB) < 1 * MB:
        return path
    lines = gzip.decompress(BANK.read_bytes()).decode().splitlines()
    header, rows = lines[0], [line.split(",") for line in lines[1:]]
    rng = np.random.default_rng(size_mb)
    target = size_mb * MB
    written = 0
    partial = path.with_suffix(".partial")
    with partial.open("w", newline="") as out:
        out.write(header + "\n")
        while written < target:
            picks = rng.integers(0, len(rows), 10_000)
            noise = rng.integers(-3, 4, 10_000)
            block = []
            for pick, delta in zip(picks, noise, strict=True):
                row = list(rows[pick])
                row[0] = str(max(18, int(row[0]) + delta))  # age
                row[5] = str(int(row[5]) + 10 * int(delta))  # balance
                block.append(",".join(row))
            text = "\n".join(block) + "\n"
            out.write(text)
            written += len(text)
    partial.replace(path)
    return path


RUN_ID = "bench"
RUN = f"runs/{RUN_ID}/"
EVALUATION_MODES = ("evaluation (endpoint)", "evaluation (transform)", "whole-file evaluation")
TRANSFORM_OUTPUT = f"{RUN}evaluation/transform/output/test.jsonl.out"


class FolderS3:
    """The S3 calls the evaluation makes, on a local folder (a bucket's keys are its paths)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def get_object(self, Bucket: str, Key: str, **_) -> dict:  # noqa: N803 - boto3's names
        return {"Body": (self.root / Key).open("rb")}

    def put_object(self, Bucket: str, Key: str, Body: bytes, **_) -> dict:  # noqa: N803
        (self.root / Key).parent.mkdir(parents=True, exist_ok=True)
        (self.root / Key).write_bytes(Body)
        return {}

    def get_paginator(self, _name: str):
        return self

    def paginate(self, Bucket: str, Prefix: str):  # noqa: N803
        keys = sorted(str(p.relative_to(self.root)) for p in self.root.glob("**/*") if p.is_file())
        yield {"Contents": [{"Key": key} for key in keys if key.startswith(Prefix)]}


class StandInEndpoint:
    """Answers the predictions contract for a raw CSV request (no quotes in the bench data): P(yes) per row."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)

    def invoke(self, body: bytes, content_type: str, accept: str) -> bytes:
        rows = body.count(b"\n") - 1
        return json.dumps({"predictions": [answer(p) for p in self.rng.random(rows)]}).encode()


def answer(p: float) -> dict:
    label = "yes" if p > 0.5 else "no"
    return {
        "predicted_label": label,
        "probability": max(p, 1 - p),
        "probabilities": [1 - p, p],
        "labels": ["no", "yes"],
    }


def prepare(path: str, out: Path | None) -> None:
    """The pipeline's streamed preparation (``prepare_upload``) into ``runs/bench/`` under ``out`` or a temp folder."""
    from sagedrop.dataset.options import PrepareOptions
    from sagedrop.preparation.core import DirStore, prepare_upload
    from sagedrop.run_config import resolve_run_config

    config = resolve_run_config({}, {"label": "y"}, "bench")

    def opener():
        return open(path, "rb")  # noqa: SIM115 - the preparation closes it

    with tempfile.TemporaryDirectory() as temp:
        prepare_upload(opener, PrepareOptions.of(config), "bench.csv", DirStore((out or Path(temp)) / RUN))


def write_transform_output(root: Path) -> None:
    """What the transform job writes for the raw test split: its staged requests, each joined with answers."""
    from sagedrop.evaluation.streams import raw_records
    from sagedrop.pipeline.evaluation_transform import stage_rows
    from sagedrop.scoring.requests import rows_per_request

    schema = json.loads((root / RUN / "schema.json").read_text())
    rng = np.random.default_rng(1)
    target = root / TRANSFORM_OUTPUT
    target.parent.mkdir(parents=True, exist_ok=True)

    def answered(line: str) -> None:
        request = json.loads(line)
        request["SageMakerOutput"] = {"predictions": [answer(p) for p in rng.random(len(request["instances"]))]}
        out.write(json.dumps(request) + "\n")

    with (root / RUN / "data" / "raw" / "test.csv").open(newline="") as raw, target.open("w") as out:
        records = raw_records(raw, schema.get("delimiter") or ",")
        stage_rows(records, answered, rows_per_line=rows_per_request(len(schema["features"])))


def evaluation_state(root: Path, transform: bool) -> dict:
    from sagedrop.run_config import resolve_run_config

    schema = json.loads((root / RUN / "schema.json").read_text())
    state = {
        "run_id": RUN_ID,
        "source": {"bucket": "bench", "key": "incoming/bench.csv"},
        "poll": {"interval_seconds": 1, "max_polls": 1},
        "prepared": {
            "config": resolve_run_config({}, {"label": "y"}, "bench").as_dict(),
            "dataset": {
                "schema_key": f"{RUN}schema.json",
                "channels": {"train": f"s3://bench/{RUN}data/train/", "test": f"s3://bench/{RUN}data/test/"},
                "raw_test_key": f"{RUN}data/raw/test.csv",
                "inference_artifact": f"s3://bench/{RUN}inference/model.tar.gz",
                "label": "y",
                "problem_type": schema["problem_type"],
                "feature_count": schema["feature_count"],
                "rows": schema["rows"],
            },
        },
        "training": {"job_name": "t", "status": "Completed", "polls": 1, "model_artifact": "s3://bench/m.tar.gz"},
        # an analysis section: the report explains with its file, no permutation importance (XGBoost)
        "analysis": {"job_name": "a", "status": "Completed", "polls": 1},
        "endpoint": {
            "model_name": "m",
            "endpoint_config_name": "c",
            "endpoint_name": "e",
            "status": "InService",
            "polls": 1,
        },
    }
    if transform:
        state["evaluation_transform"] = {
            "job_name": "bench-evaluate", "status": "Completed", "polls": 1, "rows": 0,
            "input_key": f"{RUN}evaluation/transform/input/test.jsonl", "output_key": TRANSFORM_OUTPUT,
        }  # fmt: skip
    return state


def evaluate(mode: str, folder: str) -> None:
    """One evaluation of the prepared folder, as the Lambda runs it."""
    from sagedrop.aws.runtime import EndpointInvoker
    from sagedrop.aws.s3 import DataBucket
    from sagedrop.aws.s3_streams import ObjectStreams
    from sagedrop.pipeline.evaluating import evaluate_run
    from sagedrop.pipeline.state import EvaluateInput, parse_state

    root = Path(folder)
    client = FolderS3(root)
    state = parse_state(evaluation_state(root, mode == "evaluation (transform)"), EvaluateInput)
    endpoint = StandInEndpoint()
    invoker = EndpointInvoker(None, "e")
    invoker.invoke = endpoint.invoke
    if mode == "whole-file evaluation":
        from sagedrop.evaluation import build_evaluation, features_only
        from sagedrop.predicting import predict_raw_csv, rows_per_request

        dataset = state.prepared.dataset
        bucket = DataBucket(client, "bench")
        parts = bucket.keys(f"{RUN}data/test/")
        labels = np.concatenate([features_only(bucket.read_bytes(key))[0] for key in parts])
        raw = bucket.read_bytes(dataset.raw_test_key)
        scores = predict_raw_csv(
            raw, endpoint.invoke, dataset.problem_type, max_rows=rows_per_request(dataset.feature_count)
        )
        build_evaluation(
            run_id=RUN_ID, problem_type=dataset.problem_type, label="y", y_true=labels, predictions=scores,
            label_mapping=["no", "yes"], label_stats={"majority_class": 0, "class_counts": [1, 1]},
        )  # fmt: skip
        return
    evaluate_run(state, DataBucket(client, "bench"), ObjectStreams(client, "bench"), invoker)


TRAINING_THREAD = "local-sagemaker-TrainingJobs."  # the local SageMaker trains in a thread of the command


class PhasePeaks:
    """This process's peak RSS before, during and after its local training job (sampled every 20 ms)."""

    PHASES = ("before training", "training", "after training")

    def __init__(self) -> None:
        self.peaks = dict.fromkeys(self.PHASES, 0.0)
        self._phase = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PhasePeaks:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._done.wait(0.02):
            training = any(thread.name.startswith(TRAINING_THREAD) for thread in threading.enumerate())
            if training and self._phase == 0:
                self._phase = 1
            elif not training and self._phase == 1:
                self._phase = 2
            phase = self.PHASES[self._phase]
            self.peaks[phase] = max(self.peaks[phase], _rss_mb())


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def local_run(path: str, folder: Path) -> None:
    """``sagedrop local run`` in this process, its output to ``local-run.log`` and its figures to ``figures.json``."""
    from sagedrop_local.cli import main as sagedrop

    config = folder / "sagedrop.json"
    config.write_text(json.dumps({"hyperparameters": {"num_round": 20}}))
    # the Processing route, whatever the size; the evaluation takes the stack's own route (the endpoint
    # up to EvaluationTransformBytes of raw test split, a Batch Transform job above)
    route = ["--parameter", "LambdaPrepareMaxBytes=0"]
    where = ["--out", str(folder / "out"), "--state-dir", str(folder / "state")]
    with (
        open(folder / "local-run.log", "w") as log,  # noqa: PTH123
        contextlib.redirect_stdout(log),
        PhasePeaks() as phases,
    ):
        status = sagedrop(["local", "run", path, "--label", "y", "--config", str(config), *route, *where])
    (folder / "figures.json").write_text(json.dumps(phases.peaks))
    if status:
        raise SystemExit(f"sagedrop local run ended with status {status}; see {folder / 'local-run.log'}")


def local_run_table(sizes: list[int], folder: Path) -> None:
    columns = f"{'MB/s':>6} {'seconds':>8} {'peak RSS MB':>12}  " + "  ".join(f"{p:>16}" for p in PhasePeaks.PHASES)
    print("\nsagedrop local run: Processing route, 20 rounds, the stack's evaluation route (peak RSS, MB)")
    print(f"{'CSV':>8}  {columns}")
    for size in sizes:
        path = generate(size, folder)
        work = Path(tempfile.mkdtemp(prefix="sagedrop-bench-local-run-", dir=folder))
        started = time.perf_counter()
        try:
            rate, rss = measure("local run", path, work)
        except SystemExit:
            log = (work / "local-run.log").read_text().splitlines()
            print("\n".join(log[-15:]) + f"\n(the run's folder is kept: {work})", flush=True)
            raise
        seconds = time.perf_counter() - started
        phases = json.loads((work / "figures.json").read_text())
        shutil.rmtree(work, ignore_errors=True)
        cells = "  ".join(f"{phases[phase]:>16.0f}" for phase in PhasePeaks.PHASES)
        print(f"{size:>6}MB  {rate:>6.2f} {seconds:>8.0f} {rss:>12.0f}  {cells}", flush=True)


def child(mode: str, path: str, out: str | None = None) -> None:
    """Runs in the measured process; each mode imports only what it uses (imports are part of the time)."""
    if mode == "streamed":
        prepare(path, Path(out) if out else None)
    elif mode in EVALUATION_MODES:
        evaluate(mode, path)
    elif mode == "local run":
        local_run(path, Path(out))
    elif mode == "whole-file prepare":
        from sagedrop.dataset.prepare import prepare_dataset
        from sagedrop.run_config import resolve_run_config

        config = resolve_run_config({}, {"label": "y"}, "bench")
        prepared = prepare_dataset(Path(path).read_bytes(), config, "bench.csv")
        for split in ("train", "validation", "test"):
            getattr(prepared, split).to_csv(os.devnull, header=False, index=False)
    elif mode == "pandas whole-file":
        import pandas as pd

        frame = pd.read_csv(path)
        encoded = pd.get_dummies(frame.drop(columns=["y"]))
        encoded.insert(0, "y", (frame["y"] == "yes").astype(int))
        encoded.to_csv(os.devnull, header=False, index=False)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


def measure(
    mode: str, path: Path, out: Path | None = None, size_of: Path | None = None, command: list[str] | None = None
) -> tuple[float, float]:
    """(MB/s of ``size_of`` or ``path``, peak RSS in MB) of one child process (``command``, else this script's)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command or [sys.executable, __file__, "--child", mode, str(path), *([str(out)] if out else [])]
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{mode} on {path.name} failed with status {process.returncode}")
    return (size_of or path).stat().st_size / MB / seconds, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def paired_ratios(path: Path, pairs: int, run=None) -> list[float]:
    """Streamed over pandas whole-file throughput, ``pairs`` times, each pair measured back to back."""
    run = run or measure
    return [run("streamed", path)[0] / run("pandas whole-file", path)[0] for _ in range(pairs)]


def ratio_line(ratios: list[float]) -> str:
    shown = " ".join(f"{ratio:.2f}x" for ratio in ratios)
    median = statistics.median(ratios)
    return f"streamed / pandas whole-file, {len(ratios)} pairs run back to back: {shown} (median {median:.2f}x)"


def available_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return float("inf")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,500,2000", help="CSV sizes in MB, comma-separated")
    parser.add_argument("--folder", default=tempfile.gettempdir(), help="where the generated CSVs go")
    parser.add_argument(
        "--local-run",
        metavar="SIZES",
        help="also `sagedrop local run` CSVs of these sizes in MB (minutes per GB)",
    )
    parser.add_argument(
        "--arrow-python",
        metavar="PYTHON",
        default=sys.executable,
        help="an interpreter with pyarrow, for the ceiling column (e.g. a venv of its own)",
    )
    parser.add_argument(
        "--pairs", type=int, default=0, metavar="N", help="then N back-to-back pairs of streamed and pandas runs"
    )
    parser.add_argument("--child", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    sizes = [int(size) for size in args.sizes.split(",") if size]  # --sizes "": the local runs only
    modes = ("streamed", "whole-file prepare", "pandas whole-file", ARROW, *EVALUATION_MODES)
    has_arrow = subprocess.run([args.arrow_python, "-c", "import pyarrow.csv"], capture_output=True).returncode == 0
    if sizes:
        print(f"{'CSV':>8}  " + "  ".join(f"{mode + ' MB/s':>27} {'peak RSS MB':>11}" for mode in modes))
    for size in sizes:
        path = generate(size, Path(args.folder))
        prepared = Path(tempfile.mkdtemp(prefix="sagedrop-bench-prepared-", dir=args.folder))
        cells = []
        results = {}
        try:
            for mode in modes:
                if size * WHOLE_FILE_MEMORY_FACTORS.get(mode, 0) > 0.8 * available_mb():
                    cells.append(f"{'skipped (memory)':>27} {'':>11}")
                    continue
                if mode == ARROW:
                    if not has_arrow:
                        cells.append(f"{'no pyarrow (--arrow-python)':>27} {'':>11}")
                        continue
                    results[mode] = measure(mode, path, command=[args.arrow_python, "-c", ARROW_READ, str(path)])
                elif mode == "streamed":
                    results[mode] = measure(mode, path, prepared)
                    write_transform_output(prepared)
                elif mode in EVALUATION_MODES:
                    raw_test = prepared / RUN / "data" / "raw" / "test.csv"
                    if mode == "evaluation (endpoint)" and raw_test.stat().st_size > EVALUATION_TRANSFORM_BYTES:
                        # the pipeline never sends a test split this large to the endpoint
                        cells.append(f"{'over the limit: transform':>27} {'':>11}")
                        continue
                    results[mode] = measure(mode, prepared, size_of=raw_test)
                else:
                    results[mode] = measure(mode, path)
                cells.append(f"{results[mode][0]:>27.1f} {results[mode][1]:>11.0f}")
        finally:
            shutil.rmtree(prepared, ignore_errors=True)
        print(f"{size:>6}MB  " + "  ".join(cells), flush=True)
        for name in ("streamed", "evaluation (endpoint)", "evaluation (transform)"):
            if name not in results:
                continue
            rss = results[name][1]
            verdicts = [f"RSS {'under' if rss < GOAL_RSS_MB else 'OVER'} {GOAL_RSS_MB} MB"]
            if name == "streamed" and "pandas whole-file" in results:
                ratio = results[name][0] / results["pandas whole-file"][0]
                verdicts.append(f"{ratio:.2f}x the pandas path's throughput (goal 3x)")
            if name == "streamed" and ARROW in results:
                verdicts.append(f"{results[name][0] / results[ARROW][0]:.2f}x the pyarrow read's")
            print(f"{'':>8}  {name}: " + "; ".join(verdicts), flush=True)
        if args.pairs and "pandas whole-file" in results:
            print(f"{'':>8}  " + ratio_line(paired_ratios(path, args.pairs)), flush=True)
    if args.local_run:
        local_run_table([int(size) for size in args.local_run.split(",")], Path(args.folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
