"""benchmarks/pipeline_bench.py: a measurement starts only once the server's processes are idle."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

PATH = Path(__file__).resolve().parents[3] / "benchmarks" / "pipeline_bench.py"
_spec = importlib.util.spec_from_file_location("pipeline_bench", PATH)
pipeline_bench = importlib.util.module_from_spec(_spec)
sys.modules["pipeline_bench"] = pipeline_bench
_spec.loader.exec_module(pipeline_bench)

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")

BUSY_THEN_IDLE = "import time\nend = time.monotonic() + {busy}\nwhile time.monotonic() < end: pass\ntime.sleep(30)"


def _server_with_child(busy_seconds: float) -> subprocess.Popen:
    """A process (the 'server') whose child spins for ``busy_seconds``, then sleeps."""
    child = BUSY_THEN_IDLE.format(busy=busy_seconds)
    code = f"import subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', {child!r}])\ntime.sleep(30)"
    return subprocess.Popen([sys.executable, "-c", code])


def test_a_childs_cpu_counts_towards_the_servers():
    server = _server_with_child(busy_seconds=1.5)
    try:
        time.sleep(0.3)
        before = pipeline_bench._cpu_ticks(server.pid)
        deadline = time.monotonic() + 5  # a loaded machine may give the child its CPU late; the server sleeps
        while pipeline_bench._cpu_ticks(server.pid) - before < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pipeline_bench._cpu_ticks(server.pid) - before >= 20  # 0.2 s of the child's spinning
    finally:
        subprocess.run(["pkill", "-P", str(server.pid)], check=False)
        server.kill()


def test_settle_waits_for_the_child_to_go_idle():
    server = _server_with_child(busy_seconds=1.5)
    try:
        time.sleep(0.3)
        started = time.monotonic()
        pipeline_bench.LocalUp.settle(SimpleNamespace(process=server), timeout=20)
        waited = time.monotonic() - started
        assert 0.7 <= waited < 10  # the child spun for about 1.2 s more, then slept
    finally:
        subprocess.run(["pkill", "-P", str(server.pid)], check=False)
        server.kill()
