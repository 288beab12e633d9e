"""benchmarks/preprocess_bench.py: the generated CSV is bank-like and the measurement runs in a child."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[3] / "benchmarks" / "preprocess_bench.py"
_spec = importlib.util.spec_from_file_location("preprocess_bench", PATH)
preprocess_bench = importlib.util.module_from_spec(_spec)
sys.modules["preprocess_bench"] = preprocess_bench
_spec.loader.exec_module(preprocess_bench)


def test_the_generated_csv_is_bank_like_and_of_the_size_asked(tmp_path):
    path = preprocess_bench.generate(2, tmp_path)
    lines = path.read_text().splitlines()
    assert lines[0].startswith("age,job,marital") and lines[0].endswith(",y")
    assert all(len(line.split(",")) == 17 for line in lines[1:200])
    assert abs(path.stat().st_size - 2 * preprocess_bench.MB) < preprocess_bench.MB
    assert preprocess_bench.generate(2, tmp_path) == path  # reused


def test_the_streamed_preparation_is_measured_in_a_child_process(tmp_path):
    path = preprocess_bench.generate(1, tmp_path)
    throughput, rss = preprocess_bench.measure("streamed", path)
    assert throughput > 0 and 50 < rss < 2_000


def test_the_evaluation_is_measured_by_both_routes_on_the_prepared_folder(tmp_path):
    import json

    path = preprocess_bench.generate(1, tmp_path)
    prepared = tmp_path / "prepared"
    preprocess_bench.measure("streamed", path, prepared)
    preprocess_bench.write_transform_output(prepared)
    run = prepared / preprocess_bench.RUN
    raw = run / "data" / "raw" / "test.csv"
    test_rows = sum(1 for _ in raw.open()) - 1
    for mode in ("evaluation (endpoint)", "evaluation (transform)"):
        (run / "evaluation.json").unlink(missing_ok=True)
        throughput, rss = preprocess_bench.measure(mode, prepared, size_of=raw)
        assert throughput > 0 and 50 < rss < 2_000
        assert json.loads((run / "evaluation.json").read_text())["rows"] == test_rows > 0


def test_phase_peaks_follow_the_local_training_thread():
    import threading
    import time

    from sagedrop_local.sagemaker.workers import Workers

    class TrainingJobs:  # the local SageMaker's class name is what the bench looks for
        def __init__(self) -> None:
            self.release = threading.Event()
            self.held = None

        def _run(self) -> None:
            self.held = bytearray(64 * 1024 * 1024)  # touched: resident while "training"
            self.held[::4096] = b"\x01" * len(self.held[::4096])
            self.release.wait(5)
            self.held = None

    jobs, workers = TrainingJobs(), Workers()
    with preprocess_bench.PhasePeaks() as phases:
        time.sleep(0.1)
        workers.spawn(jobs._run, on_crash=lambda error: None)
        time.sleep(0.3)
        jobs.release.set()
        time.sleep(0.3)
    workers.close()
    before, training, after = (phases.peaks[phase] for phase in preprocess_bench.PhasePeaks.PHASES)
    assert before > 0 and after > 0
    assert training > before + 50  # the 64 MiB held only while the thread ran


def test_a_ceiling_is_measured_as_the_command_it_is_given(tmp_path):
    path = preprocess_bench.generate(1, tmp_path)
    read = [sys.executable, "-c", "import sys; open(sys.argv[1], 'rb').read()", str(path)]
    throughput, rss = preprocess_bench.measure(preprocess_bench.ARROW, path, command=read)
    assert throughput > 0 and rss > path.stat().st_size / preprocess_bench.MB  # the whole file was held
    failing = [sys.executable, "-c", "raise SystemExit(3)"]
    with pytest.raises(SystemExit, match="failed with status 3"):
        preprocess_bench.measure(preprocess_bench.ARROW, path, command=failing)


def test_each_pair_is_measured_back_to_back_and_the_median_ratio_printed():
    calls = []
    speeds = iter([30.0, 10.0, 20.0, 10.0, 36.0, 12.0])  # streamed, pandas, streamed, pandas, ...

    def run(mode, path):
        calls.append(mode)
        return next(speeds), 100.0

    ratios = preprocess_bench.paired_ratios(Path("x.csv"), 3, run=run)
    assert calls == ["streamed", "pandas whole-file"] * 3
    assert ratios == [3.0, 2.0, 3.0]
    assert preprocess_bench.ratio_line(ratios).endswith("3.00x 2.00x 3.00x (median 3.00x)")
