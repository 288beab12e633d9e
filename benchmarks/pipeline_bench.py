"""The local pipeline against a direct one-process script, cold and warm, on bank-full and on 10x of it.

    python benchmarks/pipeline_bench.py [CSV] [--label y] [--times N]

For each data set (the CSV, and the CSV's rows repeated ten times in a temporary file) it measures:
  direct      benchmarks/direct_xgboost.py as its own process (interpreter, imports, the work);
  cold        `sagedrop local run` as its own process, no server (interpreter, imports, building
              the local cloud, the run, writing the results);
  warm        a run through a running `sagedrop local up`: from the upload to SUCCEEDED, after one
              untimed run has imported the handlers (as a server does once);
  via up      `sagedrop local run` as its own process while that server runs (it uses the server).
Each figure is the best of --times runs. Before each measurement the server is left to settle (its
processes idle: after a run it starts replacement warm containers), so that no figure pays for the
server's work after another. ``--compare-warm N`` instead times N warm runs with and N
without ``local up``'s warm containers. Every process gets the same OMP_WAIT_POLICY (PASSIVE
unless set), since xgboost's spinning OpenMP threads make either side erratic on a busy machine.
A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sagedrop_local.server.client import RemoteCloud
from sagedrop_local.server.discovery import find_running

ROOT = Path(__file__).resolve().parents[1]

ENV = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
GOALS = {"cold": 2.0, "warm": 1.5, "warm at 10x": 1.3}


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=ENV)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return elapsed, result.stdout


def csv_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def repeated(data: bytes, times: int) -> bytes:
    header, _, rows = data.partition(b"\n")
    rows = rows if rows.endswith(b"\n") else rows + b"\n"
    return header + b"\n" + rows * times


def direct(csv: Path, label: str) -> tuple[float, dict]:
    wall, out = timed([sys.executable, "benchmarks/direct_xgboost.py", str(csv), "--label", label])
    return wall, json.loads(out.strip().splitlines()[-1])


def cold(csv: Path, label: str, scratch: Path) -> tuple[float, dict]:
    out, state = scratch / "cold-out", scratch / "cold-state"
    command = [sys.executable, "-m", "sagedrop_local.cli", "local", "run", str(csv), "--label", label]
    wall, _ = timed(command + ["--out", str(out), "--state-dir", str(state)])
    return wall, {
        "run": json.loads((out / "run.json").read_text()),
        **json.loads((out / "evaluation.json").read_text()),
    }


class LocalUp:
    """`sagedrop local up` in a subprocess, used through boto3 as a user's code would."""

    def __init__(self, state_dir: Path, *extra: str) -> None:
        self.state_dir = state_dir
        command = [sys.executable, "-m", "sagedrop_local.cli", "local", "up", "--port", "0", *extra]
        self.process = subprocess.Popen(
            command + ["--state-dir", str(state_dir)], cwd=ROOT, env=ENV, stdout=subprocess.PIPE, text=True
        )
        for line in self.process.stdout:
            if line.strip() == "Ctrl-C stops.":
                break
        else:
            sys.exit("local up did not start")
        self.cloud = RemoteCloud(find_running(state_dir))

    def settle(self, quiet_seconds: float = 0.5, timeout: float = 60.0) -> None:
        """Wait until the server and its processes use no CPU for ``quiet_seconds`` (Linux /proc)."""
        deadline = time.monotonic() + timeout
        before = _cpu_ticks(self.process.pid)
        while before is not None and time.monotonic() < deadline:
            time.sleep(quiet_seconds)
            after = _cpu_ticks(self.process.pid)
            if after is None or after - before <= 2:  # 2 clock ticks: 20 ms
                return
            before = after

    def run(self, data: bytes, key: str, label: str) -> tuple[float, dict]:
        self.cloud.put_object(f"{key.rsplit('/', 1)[0]}/sagedrop.json", json.dumps({"label": label}).encode())
        started = time.perf_counter()
        outcome = self.cloud.start_run(data, key)
        final = self.cloud.wait(outcome["execution_arn"], poll_seconds=0.05)
        elapsed = time.perf_counter() - started
        if final["status"] != "SUCCEEDED":
            sys.exit(f"warm run {final['status']}: {final.get('cause')}")
        return elapsed, final

    def warm_up(self, data: bytes, label: str) -> None:
        """One untimed run on the first ~200 kB of rows: the server imports its handlers, as it does once."""
        self.run(data[:200_000].rsplit(b"\n", 1)[0] + b"\n", "incoming/warmup/warmup.csv", label)

    def run_cli(self, csv: Path, label: str, out: Path) -> tuple[float, dict]:
        command = [sys.executable, "-m", "sagedrop_local.cli", "local", "run", str(csv), "--label", label]
        wall, _ = timed(command + ["--out", str(out), "--state-dir", str(self.state_dir)])
        return wall, json.loads((out / "run.json").read_text())

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)


def _cpu_ticks(root: int) -> int | None:
    """User + system clock ticks of ``root`` and its descendants so far; None without /proc."""
    stats: dict[int, tuple[int, int]] = {}
    try:
        entries = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return None
    for entry in entries:
        try:
            fields = Path("/proc", entry, "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # ended meanwhile
        stats[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))  # ppid, utime + stime
    tree, total, grown = {root}, 0, True
    while grown:
        grown = False
        for pid, (parent, _) in stats.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grown = True
    for pid in tree:
        total += stats.get(pid, (0, 0))[1]
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("csv", nargs="?", default=str(ROOT / "data" / "bank-full.csv.gz"))
    parser.add_argument("--label", default="y")
    parser.add_argument("--times", type=int, default=1, help="runs per figure; the best is shown (default 1)")
    parser.add_argument(
        "--compare-warm",
        type=int,
        metavar="N",
        help="instead: N warm runs on the CSV through a local up with warm containers, then N through one "
        "started with --cold-containers; prints each run and the means",
    )
    args = parser.parse_args()
    if args.compare_warm:
        compare_warm(Path(args.csv), args.label, args.compare_warm)
        return

    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        data = csv_bytes(Path(args.csv))
        name = re.sub(r"\.csv(\.gz)?$", "", Path(args.csv).name)
        big = scratch / f"{name}-x10.csv"
        big.write_bytes(repeated(data, 10))
        server = LocalUp(scratch / "up-state")
        try:
            server.warm_up(data, args.label)
            for label, csv, payload in ((name, Path(args.csv), data), (f"{name} x10", big, big.read_bytes())):
                figures = {"direct": [], "cold": [], "warm": [], "via up": []}
                for attempt in range(args.times):
                    server.settle()
                    figures["direct"].append(direct(csv, args.label))
                    server.settle()
                    figures["cold"].append(cold(csv, args.label, scratch / f"{attempt}-{len(rows)}"))
                    server.settle()
                    figures["warm"].append(server.run(payload, f"incoming/{name}{len(rows)}/{attempt}.csv", args.label))
                    server.settle()
                    figures["via up"].append(server.run_cli(csv, args.label, scratch / f"via-{attempt}-{len(rows)}"))
                rows.append(
                    {"data": label, **{kind: min(runs, key=lambda run: run[0]) for kind, runs in figures.items()}}
                )
        finally:
            server.stop()
    report(rows)


def compare_warm(csv: Path, label: str, runs: int) -> None:
    """Warm runs through a local up whose containers start ahead of need, then through one whose start cold."""
    data = csv_bytes(csv)
    name = re.sub(r"\.csv(\.gz)?$", "", csv.name)
    results = {}
    for kind, extra in (("warm containers", ()), ("cold containers", ("--cold-containers",))):
        with tempfile.TemporaryDirectory() as scratch:
            server = LocalUp(Path(scratch) / "up-state", *extra)
            try:
                server.warm_up(data, label)
                results[kind] = []
                for run in range(runs):
                    server.settle()
                    results[kind].append(server.run(data, f"incoming/{name}{run}/{name}.csv", label)[0])
            finally:
                server.stop()
    for kind, seconds in results.items():
        print(
            f"{kind:<16} mean {sum(seconds) / len(seconds):6.2f} s  min {min(seconds):6.2f} s  "
            f"max {max(seconds):6.2f} s  runs: {', '.join(f'{value:.2f}' for value in seconds)}"
        )


def report(rows: list[dict]) -> None:
    kinds = ("direct", "cold", "warm", "via up")
    print(
        f"{'data':<16}{'rows':>9}{'direct':>9}{'cold run':>10}{'warm up':>9}{'via up':>9}"
        f"{'cold/direct':>13}{'warm/direct':>13}{'via up/direct':>15}"
    )
    for row in rows:
        direct_s, cold_s, warm_s, via_s = (row[kind][0] for kind in kinds)
        print(
            f"{row['data']:<16}{row['direct'][1]['rows']:>9,}{direct_s:>8.2f}s{cold_s:>9.2f}s{warm_s:>8.2f}s"
            f"{via_s:>8.2f}s{cold_s / direct_s:>12.2f}x{warm_s / direct_s:>12.2f}x{via_s / direct_s:>14.2f}x"
        )
    print(f"goals: cold <= {GOALS['cold']}x, warm <= {GOALS['warm']}x, at 10x data <= {GOALS['warm at 10x']}x")
    facts = rows[0]["direct"][1]
    print(f"direct script on {rows[0]['data']}: {json.dumps(facts['seconds'])}")
    record = rows[0]["cold"][1]["run"]
    per_state: dict[str, float] = {}
    for visit in record["states"]:
        per_state[visit["state"]] = per_state.get(visit["state"], 0.0) + (visit["seconds"] or 0.0)
    print(f"cold run on {rows[0]['data']}: {record['state_transitions']} state transitions, time per state (s): ")
    print("  " + ", ".join(f"{state} {seconds:.2f}" for state, seconds in per_state.items()))
    metrics = rows[0]["cold"][1]["metrics"]
    print(
        f"accuracy / ROC AUC on the test split: direct {facts['accuracy']:.4f} / {facts['roc_auc']:.4f}, "
        f"pipeline {metrics['accuracy']:.4f} / {metrics['roc_auc']:.4f}"
    )


if __name__ == "__main__":
    main()
