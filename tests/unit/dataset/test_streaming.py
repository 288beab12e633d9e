"""The streamed preparation: equal to the whole-file path where it can be, chunk-size independent, bounded."""

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sagedrop.dataset import read_table, stream
from sagedrop.dataset.encoded_lines import column_text
from sagedrop.dataset.options import PrepareOptions
from sagedrop.dataset.parts import DirSink, PartWriter
from sagedrop.dataset.passes import split_of_rows
from sagedrop.dataset.prepare import prepare_dataset
from sagedrop.dataset.split import SPLITS
from sagedrop.dataset.stream import Dialect, chunks, detect_dialect, read_head
from sagedrop.dataset.streaming import scan, write
from sagedrop.dataset.writer import to_headerless_csv
from sagedrop.errors import InvalidCsvError, UnusableLabelError
from sagedrop.run_config import resolve_run_config

SOURCE = "incoming/t/data.csv"
SCHEMA_KEYS = (
    "label",
    "problem_type",
    "features",
    "feature_count",
    "source_columns",
    "encodings",
    "label_mapping",
    "class_count",
    "delimiter",
    "header",
    "text_encoding",
    "dropped_columns",
)


def config(**override):
    override.setdefault("data_checks", {"enabled": False})
    return resolve_run_config({}, override, "incoming/t/sagedrop.json")


def opener_of(data: bytes):
    return lambda: io.BytesIO(data)


def prepare_streamed(data: bytes, out: Path, chunk_bytes: int = 1 << 20, **override):
    plan = scan(opener_of(data), PrepareOptions.of(config(**override)), SOURCE, chunk_bytes=chunk_bytes)
    written = write(opener_of(data), plan, DirSink(out), chunk_bytes=chunk_bytes)
    return plan, written


def split_text(out: Path, written, split: str) -> str:
    return "".join((out / name).read_text() for name in written.parts[split])


def random_table(draw_seed: int, rows: int, wide_categories: bool) -> pd.DataFrame:
    rng = np.random.default_rng(draw_seed)
    frame = pd.DataFrame(
        {
            "amount": rng.normal(100, 30, rows).round(2),
            "count": rng.integers(0, 5, rows),
            "colour": rng.choice(["red", "green", "blue", " blue"], rows),
            "city": rng.choice([f"c{i}" for i in range(150 if wide_categories else 12)], rows),
            "constant": ["same"] * rows,
            "y": rng.choice(["no", "yes"], rows, p=[0.6, 0.4]),
        }
    )
    frame.loc[rng.random(rows) < 0.1, "amount"] = np.nan
    frame.loc[rng.random(rows) < 0.05, "colour"] = "NA"
    frame.loc[rng.random(rows) < 0.03, "y"] = ""
    return frame


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000), rows=st.integers(60, 250), wide=st.booleans(), chunk=st.sampled_from([300, 1 << 20])
)
def test_streamed_schema_and_rows_equal_the_whole_file_path(tmp_path_factory, seed, rows, wide, chunk):
    # Given a random table with numbers, categories (some over the cap), missing values and labels
    data = random_table(seed, rows, wide).to_csv(index=False).encode()
    out = tmp_path_factory.mktemp("out")
    # When both paths prepare it
    whole = prepare_dataset(data, config(label="y"), SOURCE)
    plan, written = prepare_streamed(data, out, chunk, label="y")
    # Then every decision of schema.json is the same
    for key in SCHEMA_KEYS:
        assert plan.schema[key] == whole.schema[key], key
    assert plan.schema["rows"]["input"] == whole.schema["rows"]["input"]
    assert plan.schema["rows"]["dropped_missing_label"] == whole.schema["rows"]["dropped_missing_label"]
    # and every encoded row is the same, whichever split the row went to
    kept = np.concatenate([whole.source_rows[s] for s in SPLITS])
    whole_rows = pd.concat([getattr(whole, s) for s in SPLITS]).to_csv(header=False, index=False).splitlines()
    expected = [line for _, line in sorted(zip(kept, whole_rows, strict=True))]
    splits = split_of_rows(plan.seed, 0, rows, plan.fractions)[np.sort(kept)]
    streamed = {s: iter(split_text(out, written, s).splitlines()) for s in SPLITS}
    assert [next(streamed[SPLITS[s]]) for s in splits] == expected


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), rows=st.integers(40, 200), split_seed=st.integers(0, 2**32 - 1))
def test_the_split_does_not_depend_on_the_chunk_size(tmp_path_factory, seed, rows, split_seed):
    data = random_table(seed, rows, False).to_csv(index=False).encode()
    results = []
    for chunk in (1, 7, 1000):
        out = tmp_path_factory.mktemp("out")
        plan, written = prepare_streamed(data, out, chunk, label="y", seed=split_seed)
        results.append(({s: split_text(out, written, s) for s in SPLITS}, plan.schema["rows"]))
        raw_test = (out / written.raw_test).read_text()
        results[-1][0]["raw"] = raw_test
    assert results[0] == results[1] == results[2]


def test_split_sizes_stay_within_a_few_rows_of_their_fractions():
    for n in (20, 97, 1_000, 123_457):
        for seed in (0, 1729, 2**63 - 1):
            counts = np.bincount(split_of_rows(seed, 0, n, (0.7, 0.15, 0.15)), minlength=3)
            assert counts.sum() == n
            assert np.all(np.abs(counts - n * np.array([0.7, 0.15, 0.15])) <= 3), (n, seed, counts)
    # and different seeds give different splits
    assert (split_of_rows(1, 0, 1000, (0.7, 0.15, 0.15)) != split_of_rows(2, 0, 1000, (0.7, 0.15, 0.15))).any()


def test_a_class_only_outside_the_train_split_is_a_named_error():
    n = 40
    splits = split_of_rows(1729, 0, n, (0.7, 0.15, 0.15))
    labels = np.where(splits == 0, "no", "yes")  # every "yes" lands in validation or test
    frame = pd.DataFrame({"x": np.arange(n) % 7, "y": labels})
    with pytest.raises(UnusableLabelError, match="the train split holds one class only"):
        scan(opener_of(frame.to_csv(index=False).encode()), PrepareOptions.of(config(label="y", seed=1729)), SOURCE)


@pytest.mark.parametrize(
    "bad_line",
    [
        "1,2,3\n",  # ragged: one field too many
        "1\n",  # one field too few (pandas pads it with an empty field: read as a row without a label)
        "inf,no\n",  # a refused spelling of a number
        "\x00\x00,no\n",  # binary data after the first records
    ],
)
def test_errors_name_the_same_line_as_the_whole_file_reader(bad_line):
    good = "".join(f"{i},{'yes' if i % 3 else 'no'}\n" for i in range(300))
    data = ("x,y\n" + good + bad_line + good).encode()
    with pytest.raises(InvalidCsvError) as whole:
        read_table(data, source=SOURCE)
    with pytest.raises(InvalidCsvError) as streamed:
        scan(opener_of(data), PrepareOptions.of(config(label="y")), SOURCE, chunk_bytes=200)
    assert str(streamed.value) == str(whole.value)


def test_quoted_newlines_across_chunk_boundaries_are_whole_records(tmp_path):
    rows = [f'{i},"line one\nline two, {i}",{"yes" if i % 2 else "no"}\n' for i in range(100)]
    data = ("n,text,y\n" + "".join(rows)).encode()
    plan, written = prepare_streamed(data, tmp_path, chunk_bytes=50, label="y")
    assert plan.schema["rows"]["input"] == 100
    assert sum(written.rows.values()) == 100
    # the raw test split's size travels in the run state: it decides endpoint or Batch Transform
    assert written.raw_test_bytes == (tmp_path / written.raw_test).stat().st_size > 0


class GeneratedStream(io.RawIOBase):
    """Records made on demand; counts the bytes handed out."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.produced = 0
        self.handed = 0
        self.buffer = b"x,y\n"

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while len(self.buffer) < len(target) and self.produced < self.rows:
            self.buffer += b"".join(f"{i},{i % 2}\n".encode() for i in range(self.produced, self.produced + 100))
            self.produced += 100
        size = min(len(target), len(self.buffer))
        target[:size] = self.buffer[:size]
        self.buffer = self.buffer[size:]
        self.handed += size
        return size


def test_the_reader_holds_one_chunk_at_a_time():
    # Given a stream far longer than one chunk
    chunk_bytes = 20_000
    streams = []

    def opener():
        streams.append(GeneratedStream(1_000_000))
        return io.BufferedReader(streams[-1], buffer_size=4096)

    with opener() as stream:
        dialect: Dialect = detect_dialect(read_head(stream), None, SOURCE)
    # When the chunks are read one by one
    consumed = 0
    for number, chunk in enumerate(chunks(opener, dialect, SOURCE, chunk_bytes)):
        consumed += len(chunk.frame.to_csv(header=False, index=False))
        # Then each chunk holds about chunk_bytes of text, and the source was read only a chunk ahead
        assert len(chunk.frame) <= chunk_bytes // 4 + 1
        assert streams[-1].handed - consumed <= 3 * chunk_bytes
        if number == 20:
            break
    assert streams[-1].produced < 1_000_000 / 10


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(st.text(st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=40), max_size=40),
    cap=st.integers(1, 120),
)
def test_part_files_respect_their_cap(tmp_path_factory, lines, cap):
    out = tmp_path_factory.mktemp("parts")
    writer = PartWriter(DirSink(out), "train", max_bytes=cap)
    text = "".join(line + "\n" for line in lines)
    for start in range(0, len(lines), 7):
        writer.write("".join(line + "\n" for line in lines[start : start + 7]), len(lines[start : start + 7]))
    names = writer.close()
    parts = [(out / name).read_bytes() for name in names]
    assert b"".join(parts).decode() == text
    for part in parts:
        assert len(part) <= cap or part.count(b"\n") == 1, "over the cap only for a single longer line"
        assert part.endswith(b"\n")
    assert names == [f"data/train/part-{i:05d}.csv" for i in range(len(names))]


@settings(max_examples=60, deadline=None)
@given(
    floats=st.lists(st.floats(allow_infinity=False, width=64) | st.none(), min_size=1, max_size=30),
    ints=st.integers(-(2**62), 2**62),
)
def test_the_column_wise_writer_writes_what_pandas_writes(floats, ints):
    n = len(floats)
    frame = pd.DataFrame(
        {
            "label": np.arange(n, dtype=np.int64) % 3,
            "x": np.array([np.nan if value is None else value for value in floats], dtype=float),
            "hot": (np.arange(n) % 2).astype(np.uint8),
            "big": np.full(n, ints, dtype=np.int64),
            "spread": np.arange(n, dtype=np.int64) * (ints // 31) - 5,
            "small": np.arange(n, dtype=np.int64) - 5,
        }
    )
    columns = [column_text(frame[name].to_numpy()).tolist() for name in frame]
    assert "".join(",".join(row) + "\n" for row in zip(*columns, strict=True)) == to_headerless_csv(frame).decode()


def test_a_sampled_report_takes_counts_and_identifiers_from_every_row(monkeypatch):
    # Given 2,000 rows, a sample of 100, and a column whose values each appear twice (an identifier
    # in a small sample: nearly all of its sampled values differ)
    from sagedrop.dataset import streaming

    monkeypatch.setattr(streaming, "STREAM_SAMPLE_ROWS", 100)
    n = 2_000
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {"code": np.arange(n) // 2 + 7, "colour": rng.choice(["red", "blue", "NA"], n), "y": rng.choice(["a", "b"], n)}
    )
    data = frame.to_csv(index=False).encode()
    plan = scan(opener_of(data), PrepareOptions.of(config(label="y")), SOURCE)
    whole = prepare_dataset(data, config(label="y"), SOURCE).data_report
    report = plan.data_report
    # Then the report says it sampled, and what it can count is counted on every row
    assert report["sampled"] == {"rows": 100, "of_rows": n}
    assert report["rows"] == whole["rows"]
    by_column = {entry["column"]: entry for entry in report["columns"]}
    expected = {entry["column"]: entry for entry in whole["columns"]}
    for column in ("code", "colour"):
        for key in ("missing", "missing_share", "distinct", "type"):
            assert by_column[column][key] == expected[column][key], (column, key)
    assert [c["count"] for c in report["label_balance"]["classes"]] == np.unique(frame["y"], return_counts=True)[
        1
    ].tolist()
    assert not [f for f in report["checks"]["findings"] if f["check"] == "identifier"]


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from([",", ";", "a", "1", " ", "\t", "\r", "\n", "\u00a0", "é", "\x1c"])),
    delimiter=st.sampled_from([",", ";", "\t"]),
    width=st.integers(min_value=1, max_value=4),
)
def test_the_field_count_check_finds_the_same_lines_as_a_loop_over_every_line(text, delimiter, width):
    def ragged(lines):
        return [(index, record) for index, record in lines if record.strip() and record.count(delimiter) + 1 != width]

    every_line = list(enumerate(text.split("\n")))

    assert ragged(stream._odd_records(text.encode(), delimiter, width)) == ragged(every_line)


CHARACTERS = st.sampled_from([",", ";", "a", "1", " ", "\t", "\r", "\u00a0", "é", "\x1c"])


@st.composite
def lines_of(draw, delimiter: str, width: int) -> list[str]:
    """Lines of about ``width`` fields (some one more or less, some empty), or of any text."""
    field = st.text(alphabet=st.sampled_from([c for c in "a1 é\t\u00a0" if c != delimiter]), max_size=3)
    counted = st.integers(max(0, width - 1), width + 1).flatmap(lambda n: st.lists(field, min_size=n, max_size=n))
    whole = st.lists(field, min_size=width, max_size=width).map(delimiter.join)
    line = st.one_of(whole, whole, counted.map(delimiter.join), st.text(alphabet=CHARACTERS, max_size=8))
    return draw(st.lists(line, min_size=1, max_size=12))


@settings(max_examples=400, deadline=None)
@given(
    delimiter=st.sampled_from([",", ";", "\t"]),
    width=st.integers(min_value=1, max_value=4),
    final_newline=st.booleans(),
    data=st.data(),
)
def test_the_shortcut_past_the_field_count_check_is_taken_only_when_no_line_is_ragged(
    delimiter, width, final_newline, data
):
    lines = data.draw(lines_of(delimiter, width))
    # a line of ``width`` fields first, as pandas takes the number of fields from the first line
    text = "\n".join([delimiter.join(["h"] * width), *lines]) + ("\n" if final_newline else "")
    data = text.encode()
    try:
        frame = pd.read_csv(
            io.BytesIO(data), sep=delimiter, header=None, dtype=object, keep_default_na=False, na_filter=False
        )
    except (pd.errors.ParserError, ValueError):
        frame = None
    ragged = [record for record in text.split("\n") if record.strip() and record.count(delimiter) + 1 != width]
    if stream._one_whole_record_a_line(frame, data, width):
        event("shortcut")
        assert ragged == []
        assert len(frame) == len([line for line in text.split("\n") if line])


def test_the_shortcut_is_taken_for_whole_records_only():
    def taken(text: str) -> bool:
        data = text.encode()
        frame = pd.read_csv(io.BytesIO(data), header=None, dtype=object, keep_default_na=False, na_filter=False)
        return stream._one_whole_record_a_line(frame, data, 3)

    assert taken("a,b,c\n1,2,3\n4,5,6\n") and taken("a,b,c\r\n1,2,3\r\n4,5,6")
    assert not taken("a,b,c\n1,2\n4,5,6\n")  # short: padded
    assert not taken("a,b,c\n1,2,\n4,5,6\n")  # an empty last field: checked
    assert not taken("a,b,c\n\n4,5,6\n")  # a blank line skipped
    assert not taken("a,b,c\r1,2,3\n4,5,6\n")  # a lone carriage return ends a record inside a line
    assert not taken("a,b,c\n1,2,3\r4,5,6\n\n7,8,9\n")  # ... even where a blank line evens out the count


@settings(max_examples=100, deadline=None)
@given(
    rows=st.integers(1, 300),
    size=st.integers(1, 120),
    cuts=st.lists(st.integers(1, 299), max_size=5),
    seed=st.integers(0, 2**31),
    data=st.data(),
)
def test_the_sample_is_the_labelled_rows_of_smallest_key_however_the_rows_are_chunked(rows, size, cuts, seed, data):
    from sagedrop.dataset.passes import row_keys
    from sagedrop.dataset.streaming import _Sample

    frame = pd.DataFrame({"a": [f"a{i}" for i in range(rows)], "b": [str(i % 7) for i in range(rows)]}, dtype=object)
    keep = np.array(data.draw(st.lists(st.booleans(), min_size=rows, max_size=rows)))
    sample = _Sample(size)
    bounds = [0, *sorted({cut for cut in cuts if cut < rows}), rows]
    for start, end in zip(bounds, bounds[1:], strict=False):
        sample.offer(frame.iloc[start:end].reset_index(drop=True), start, keep[start:end], seed)

    keys = row_keys(seed, 0, rows)
    expected = sorted(np.flatnonzero(keep)[np.argsort(keys[keep], kind="stable")][:size].tolist())
    assert sorted(sample.rows.tolist()) == expected
    held = sample.frame if sample.frame is not None else frame.iloc[:0]
    assert held["a"].tolist() == [f"a{row}" for row in sample.rows]


@pytest.mark.parametrize(
    ("codec", "bom"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1252", b""), ("utf-16", b"")],
)
@pytest.mark.parametrize("chunk", [29, 1 << 20])
def test_every_encoding_streams_in_small_blocks_as_the_whole_file_reads_it(tmp_path, codec, bom, chunk):
    # Non-ASCII text (two- and three-byte characters in UTF-8) that blocks of 29 bytes cut in the middle,
    # and a quoted field holding a line break and the delimiter.
    rows = [f'{i},{"café" if i % 3 else "€uro"},"x, {i}\nnext",{"oui" if i % 2 else "non"}\n' for i in range(120)]
    data = bom + ("montant,ville,note,y\n" + "".join(rows)).encode(codec)
    whole = prepare_dataset(data, config(label="y"), SOURCE)
    plan, written = prepare_streamed(data, tmp_path, chunk, label="y")
    for key in SCHEMA_KEYS:
        assert plan.schema[key] == whole.schema[key], key
    assert plan.schema["rows"]["input"] == 120
    assert plan.schema["encodings"]["ville"]["categories"] == ["café", "€uro"]
    raw = pd.read_csv(tmp_path / "data" / "raw" / "test.csv", dtype=object, encoding="utf-8")
    assert list(raw.columns) == ["montant", "ville", "note"]
    assert set(raw["ville"]) <= {"café", "€uro"} and len(raw) == written.rows["test"] > 0
    assert all(note.startswith("x, ") and note.endswith("\nnext") for note in raw["note"])


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_a_headerless_file_reads_its_first_number_past_the_byte_order_mark(tmp_path, bom):
    data = bom + "".join(f"{i + 0.5},{'yes' if i % 2 else 'no'}\n" for i in range(60)).encode()
    whole = prepare_dataset(data, config(label="col_1"), SOURCE)
    plan, written = prepare_streamed(data, tmp_path, 16, label="col_1")
    assert plan.types["col_0"] == "float" and plan.schema["encodings"] == whole.schema["encodings"]


def test_a_nul_byte_deep_in_the_file_names_its_line_with_small_blocks():
    good = "".join(f"{i},{'yes' if i % 3 else 'no'}\n" for i in range(300))
    data = ("x,y\n" + good + "\x00,no\n" + good).encode()
    with pytest.raises(InvalidCsvError) as whole:
        read_table(data, source=SOURCE)
    with pytest.raises(InvalidCsvError) as streamed:
        scan(opener_of(data), PrepareOptions.of(config(label="y")), SOURCE, chunk_bytes=37)
    assert str(streamed.value) == str(whole.value)
    assert "line 302" in str(streamed.value)


def test_read_ahead_yields_in_order_and_raises_the_producers_error_where_it_happened():
    made = []

    def produce():
        for item in range(5):
            made.append(item)
            if item == 3:
                raise InvalidCsvError("line 4: bad")
            yield item

    received = []
    with pytest.raises(InvalidCsvError, match="line 4: bad"):
        for item in stream.ahead(produce()):
            received.append(item)
    assert received == [0, 1, 2]


def test_read_ahead_makes_at_most_one_item_more_than_the_caller_takes():
    made = []

    def produce():
        for item in range(100):
            made.append(item)
            yield item

    items = stream.ahead(produce())
    assert [next(items), next(items)] == [0, 1]
    items.close()
    assert made == [0, 1, 2]
