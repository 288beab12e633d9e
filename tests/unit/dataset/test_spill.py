"""Pass 1's reading kept on disk: pass 2 from the spill writes what it writes from the upload, within its budget."""

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagedrop.dataset import spill as spill_module
from sagedrop.dataset.options import PrepareOptions
from sagedrop.dataset.parts import DirSink
from sagedrop.dataset.reader import _Distinct
from sagedrop.dataset.spill import ChunkSpill, default_budget
from sagedrop.dataset.streaming import scan, write
from sagedrop.errors import InvalidCsvError
from sagedrop.limits import SPILL_DISK_SHARE, SPILL_MAX_BYTES
from sagedrop.run_config import resolve_run_config

SOURCE = "incoming/t/data.csv"


def options(**override):
    override.setdefault("data_checks", {"enabled": False})
    override.setdefault("label", "y")
    return PrepareOptions.of(resolve_run_config({}, override, "incoming/t/sagedrop.json"))


class CountingOpener:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.opened = 0

    def __call__(self):
        self.opened += 1
        return io.BytesIO(self.data)


def table(seed: int, rows: int) -> bytes:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "amount": rng.normal(100, 30, rows).round(2),
            "id": np.arange(rows) * 7919,  # a code for every row: more distinct values than one byte holds
            "colour": rng.choice(["red", " blue", "NA", 'a "b"', "x,y"], rows),
            "y": rng.choice(["no", "yes", ""], rows, p=[0.6, 0.35, 0.05]),
        }
    )
    return frame.to_csv(index=False).encode()


def files(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def prepared(data: bytes, out: Path, chunk: int, spill: ChunkSpill | None) -> tuple[dict[str, bytes], CountingOpener]:
    opener = CountingOpener(data)
    plan = scan(opener, options(), SOURCE, chunk_bytes=chunk, spill=spill)
    opened = opener.opened
    write(opener, plan, DirSink(out), chunk_bytes=chunk, spill=spill)
    opener.opened -= opened  # what pass 2 opened
    return files(out), opener


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 1000), rows=st.integers(60, 400), chunk=st.sampled_from([500, 4_000, 1 << 20]))
def test_pass_two_from_the_spill_writes_what_it_writes_from_the_upload_and_never_opens_it(
    tmp_path_factory, seed, rows, chunk
):
    data = table(seed, rows)
    scratch = tmp_path_factory.mktemp("scratch")
    reread, opener = prepared(data, tmp_path_factory.mktemp("reread"), chunk, None)
    assert opener.opened == 1
    with ChunkSpill(str(scratch)) as spill:
        spilled, opener = prepared(data, tmp_path_factory.mktemp("spilled"), chunk, spill)
        assert spill.complete and len(list(scratch.iterdir())) == 1
    assert spilled == reread
    assert opener.opened == 0
    assert not list(scratch.iterdir()), "the spill is removed when its context ends"


def test_a_spill_over_its_budget_is_dropped_and_pass_two_reads_the_upload_again(tmp_path):
    data = table(3, 300)
    reread, _ = prepared(data, tmp_path / "reread", 2_000, None)
    with ChunkSpill(str(tmp_path), max_bytes=5_000) as spill:
        spilled, opener = prepared(data, tmp_path / "spilled", 2_000, spill)
        assert spill.dropped and not spill.complete
        assert not list(tmp_path.glob("sagedrop-spill-*")), "a dropped spill leaves no file"
    assert spilled == reread
    assert opener.opened == 1


def test_the_spill_starts_again_when_pass_one_rereads_the_upload_as_cp1252(tmp_path):
    # ASCII up front (detected as UTF-8), a Windows-1252 "é" deep in the file: pass 1 starts again
    # in Windows-1252, and the chunks it spilled before must not be kept.
    rows = [f"{i},{'café' if i > 3000 and i % 2 else 'tea'},{'yes' if i % 3 else 'no'}" for i in range(4000)]
    data = ("n,drink,y\n" + "\n".join(rows) + "\n").encode("cp1252")
    reread, _ = prepared(data, tmp_path / "reread", 5_000, None)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with ChunkSpill(str(scratch)) as spill:
        spilled, opener = prepared(data, tmp_path / "spilled", 5_000, spill)
        assert spill.complete
    assert spilled == reread and opener.opened == 0
    assert "café".encode() in spilled["data/raw/test.csv"]


def test_an_error_in_pass_one_leaves_no_spill(tmp_path):
    data = table(1, 200) + b"1,2\n"  # a ragged last line
    with pytest.raises(InvalidCsvError, match="line 202"), ChunkSpill(str(tmp_path)) as spill:
        scan(CountingOpener(data), options(), SOURCE, chunk_bytes=1_000, spill=spill)
    assert not list(tmp_path.iterdir())


def test_pass_two_refuses_a_spill_of_an_unfinished_pass_one(tmp_path):
    with ChunkSpill(str(tmp_path)) as spill, pytest.raises(RuntimeError, match="finished first pass"):
        next(spill.chunks())


def test_the_budget_is_a_share_of_the_free_space_and_at_most_the_cap(monkeypatch):
    class Usage:
        def __init__(self, free: int) -> None:
            self.free = free

    monkeypatch.setattr(spill_module.shutil, "disk_usage", lambda folder: Usage(2 * 1024**3))
    assert default_budget("/tmp") == int(2 * 1024**3 * SPILL_DISK_SHARE)
    monkeypatch.setattr(spill_module.shutil, "disk_usage", lambda folder: Usage(10**15))
    assert default_budget("/tmp") == SPILL_MAX_BYTES


@pytest.mark.parametrize("distinct_count", [1, 256, 257, 65_536, 65_537])
def test_codes_are_kept_in_the_smallest_type_and_read_back_as_they_were(tmp_path, distinct_count):
    values = np.array([f"v{i % distinct_count}" for i in range(distinct_count + 10)], dtype=object)
    distinct = _Distinct(values, ",")
    with ChunkSpill(str(tmp_path)) as spill:
        spill.add(0, len(values), {"c": distinct})
        spill.finish()
        size = Path(spill._path).stat().st_size
        ((start, rows, read),) = list(spill.chunks())
    assert (start, rows) == (0, len(values))
    assert np.array_equal(read["c"].codes, distinct.codes)
    assert read["c"].text_values().tolist() == distinct.text_values().tolist()
    width = 1 if distinct_count <= 256 else 2 if distinct_count <= 65_536 else 4
    assert spill_module._compact(distinct)[0].itemsize == width
    # a cell's code, and each distinct value's text, number and flags once
    assert size < width * len(values) + 32 * distinct_count + 1_000


def test_a_disk_that_fills_up_drops_the_spill_and_pass_two_reads_the_upload_again(tmp_path, monkeypatch):
    data = table(4, 300)
    reread, _ = prepared(data, tmp_path / "reread", 2_000, None)
    calls = []
    dump = spill_module.pickle.dump

    def dump_until_full(*args, **kwargs):
        calls.append(1)
        if len(calls) > 2:
            raise OSError(28, "No space left on device")
        dump(*args, **kwargs)

    monkeypatch.setattr(spill_module.pickle, "dump", dump_until_full)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with ChunkSpill(str(scratch)) as spill:
        spilled, opener = prepared(data, tmp_path / "spilled", 2_000, spill)
        assert spill.dropped and not list(scratch.iterdir())
    assert spilled == reread and opener.opened == 1


LEFT_BEHIND = """
import os, sys
from sagedrop.dataset.spill import ChunkSpill
from tests.unit.dataset.test_spill import options, table, SOURCE
from sagedrop.dataset.streaming import scan
import io
data = table(1, 300)
spill = ChunkSpill(sys.argv[1])
scan(lambda: io.BytesIO(data), options(), SOURCE, chunk_bytes=500, spill=spill)
os._exit(0)  # ends like a Lambda invocation that timed out: the spill is never removed
"""


def test_a_spill_left_by_a_process_that_ended_mid_run_is_removed_by_the_next_one(tmp_path):
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", LEFT_BEHIND, str(tmp_path)], check=True, cwd=Path(__file__).parents[3])
    (left,) = tmp_path.glob("sagedrop-spill-*.pickle")
    other = tmp_path / "someone-else.pickle"
    other.write_bytes(b"not ours")
    with ChunkSpill(str(tmp_path)):
        assert not left.exists()
    assert other.exists()


def test_a_live_spill_is_not_taken_for_a_leftover(tmp_path):
    data = table(2, 200)
    with ChunkSpill(str(tmp_path)) as live:
        scan(lambda: io.BytesIO(data), options(), SOURCE, chunk_bytes=500, spill=live)
        (path,) = tmp_path.glob("sagedrop-spill-*.pickle")
        assert spill_module.remove_leftover_spills(str(tmp_path)) == []
        with ChunkSpill(str(tmp_path)):
            assert path.exists()
        assert sum(1 for _ in live.chunks()) > 1  # and it is still whole
    assert not path.exists()
