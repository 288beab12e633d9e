"""Preprocessing at size: throughput and peak memory of the streamed preparation against whole-file paths.

Generates bank-like CSVs (bank-full's rows repeated, numbers perturbed; written as a stream, never
held) of 100 MB, 500 MB and 2 GB in the temp folder, then measures, each in a child process of its
own (peak RSS from ``os.wait4``):

* ``streamed``: ``sagedrop.dataset.streaming`` scan + write into a temp folder — what the pipeline
  and ``sagedrop prepare`` run;
* ``whole-file prepare``: the previous path, ``prepare_dataset`` on the file's bytes (skipped where
  its ~10x memory would not fit this machine);
* ``pandas whole-file``: ``pd.read_csv`` of the whole file, ``get_dummies``, ``to_csv`` — the
  notebook approach.

Goals (issue 10): peak RSS under 400 MB at every size, and at least 3x the pandas path's throughput.
``--sizes 100`` runs a subset.
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BANK = ROOT / "data" / "bank-full.csv.gz"
MB = 1_000_000
GOAL_RSS_MB = 400
# The whole-file prepare holds about ten times the file; run it only where that fits with room.
WHOLE_FILE_MEMORY_FACTOR = 10


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


def child(mode: str, path: str) -> None:
    """Runs in the measured process."""
    from sagedrop.run_config import resolve_run_config

    config = resolve_run_config({}, {"label": "y"}, "bench")
    if mode == "streamed":
        from sagedrop.dataset.options import PrepareOptions
        from sagedrop.dataset.parts import DirSink
        from sagedrop.dataset.streaming import scan, write

        def opener():
            return open(path, "rb")  # noqa: SIM115 - the preparation closes it

        with tempfile.TemporaryDirectory() as out:
            write(opener, scan(opener, PrepareOptions.of(config), "bench.csv"), DirSink(Path(out)))
    elif mode == "whole-file prepare":
        from sagedrop.dataset.prepare import prepare_dataset

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


def measure(mode: str, path: Path) -> tuple[float, float]:
    """(MB/s, peak RSS in MB) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, __file__, "--child", mode, str(path)])
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{mode} on {path.name} failed with status {process.returncode}")
    return path.stat().st_size / MB / seconds, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def available_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return float("inf")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,500,2000", help="CSV sizes in MB, comma-separated")
    parser.add_argument("--folder", default=tempfile.gettempdir(), help="where the generated CSVs go")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    sizes = [int(size) for size in args.sizes.split(",")]
    modes = ("streamed", "whole-file prepare", "pandas whole-file")
    print(f"{'CSV':>8}  " + "  ".join(f"{mode + ' MB/s':>24} {'peak RSS MB':>11}" for mode in modes))
    for size in sizes:
        path = generate(size, Path(args.folder))
        cells = []
        results = {}
        for mode in modes:
            if mode != "streamed" and size * WHOLE_FILE_MEMORY_FACTOR > 0.8 * available_mb():
                cells.append(f"{'skipped (memory)':>24} {'':>11}")
                continue
            throughput, rss = measure(mode, path)
            results[mode] = (throughput, rss)
            cells.append(f"{throughput:>24.1f} {rss:>11.0f}")
        print(f"{size:>6}MB  " + "  ".join(cells), flush=True)
        streamed = results["streamed"]
        verdicts = [f"RSS {'under' if streamed[1] < GOAL_RSS_MB else 'OVER'} {GOAL_RSS_MB} MB"]
        if "pandas whole-file" in results:
            ratio = streamed[0] / results["pandas whole-file"][0]
            verdicts.append(f"{ratio:.2f}x the pandas path's throughput (goal 3x)")
        print(f"{'':>8}  streamed: " + "; ".join(verdicts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
