"""The pipeline's preparation in bounded memory: the upload is read twice as a stream, never held whole.

Pass 1 (:func:`scan`) reads every chunk and learns what the whole-file path (``prepare_dataset``)
learns — column types, encodings, the label, its classes and problem type, the rows of each split
and the training statistics — plus a uniform sample of rows for the data report; the data gate
runs before anything is written. Pass 2 (:func:`write`) reads the chunks again, encodes them and
writes the splits as capped part files and the raw test split, chunk by chunk.

What differs from the whole-file path, by necessity:

* the split of a row is a function of the seed and its position (``passes.split_of_rows``), not a
  shuffle with exact, stratified sizes: each split is within a few rows of its fraction, classes
  are not stratified (a low-discrepancy sequence spreads every stretch of the file in proportion),
  and the rows of a split keep their file order;
* the data report is built from a sample of at most ``STREAM_SAMPLE_ROWS`` labelled rows; rows,
  missing and distinct counts, the label balance and the identifier check come from the whole
  stream (``sampled`` says when it sampled). A file that fits in the sample gets the exact report.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sagedrop.algorithms import Algorithm
from sagedrop.dataset import decide
from sagedrop.dataset.detect import CP1252, Encoding
from sagedrop.dataset.encoded_lines import LineEncoder, source_text
from sagedrop.dataset.label import resolve_label
from sagedrop.dataset.leakage import gate_message
from sagedrop.dataset.options import PrepareOptions
from sagedrop.dataset.parts import PartWriter, Sink
from sagedrop.dataset.passes import ColumnScan, LabelScan, row_keys, split_of_rows
from sagedrop.dataset.reader import MIN_DATA_ROWS, _Distinct
from sagedrop.dataset.spill import ChunkSpill, SpilledChunk
from sagedrop.dataset.split import SPLITS
from sagedrop.dataset.stream import (
    Dialect,
    Opener,
    RetryAsCp1252,
    chunks,
    detect_dialect,
    failer,
    read_head,
)
from sagedrop.dataset.writer import to_source_csv
from sagedrop.errors import DataLeakageError, LabelNotFoundError, UnusableLabelError
from sagedrop.limits import STREAM_CHUNK_BYTES, STREAM_SAMPLE_CELLS, STREAM_SAMPLE_ROWS
from sagedrop.memory import release_memory

RAW_TEST = "data/raw/test.csv"


@dataclass
class Plan:
    """What pass 1 decided: everything pass 2 needs, schema.json and the data report."""

    dialect: Dialect
    label: str
    types: dict[str, str]  # column -> "int" | "float" | "text"
    encodings: dict[str, dict[str, Any]]
    mapping: list[Any] | None
    fractions: tuple[float, float, float]
    seed: int
    schema: dict[str, Any]
    data_report: dict[str, Any]
    source: str = ""


@dataclass
class Written:
    """The parts of each split (relative names, in order) and the rows written."""

    parts: dict[str, list[str]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    raw_test: str = RAW_TEST
    raw_test_bytes: int = 0


def scan(
    opener: Opener,
    options: PrepareOptions,
    source: str,
    chunk_bytes: int = STREAM_CHUNK_BYTES,
    spill: ChunkSpill | None = None,
) -> Plan:
    """Pass 1; every problem is the named error the whole-file path raises (DataLeakageError last).

    With a ``spill``, each chunk's reading is kept there for :func:`write`.
    """
    try:
        return _scan(opener, options, source, chunk_bytes, None, spill)
    except RetryAsCp1252:
        return _scan(opener, options, source, chunk_bytes, CP1252, spill)


def _scan(
    opener: Opener,
    config: PrepareOptions,
    source: str,
    chunk_bytes: int,
    encoding: Encoding | None,
    spill: ChunkSpill | None,
) -> Plan:
    if spill is not None:
        spill.reset()
    with opener() as stream:
        head = read_head(stream)
    dialect = detect_dialect(head, config.delimiter, source, encoding)
    del head
    try:
        label = resolve_label(dialect.names, config.label)
    except LabelNotFoundError as exc:
        raise LabelNotFoundError(f"{source}: {exc}") from None
    fractions = config.fractions
    scans = {name: ColumnScan() for name in dialect.names}
    label_scan = LabelScan()
    sample = _Sample(min(STREAM_SAMPLE_ROWS, max(1, STREAM_SAMPLE_CELLS // len(dialect.names))))
    rows = 0
    for chunk in chunks(opener, dialect, source, chunk_bytes):
        frame = chunk.frame
        rows = chunk.start + len(frame)
        splits = split_of_rows(config.seed, chunk.start, len(frame), fractions)
        distincts = distinct_values(frame, dialect.delimiter, dialect.names)
        label_values = distincts[label]
        keep = ~label_values.missing[label_values.codes]
        train = keep & (splits == 0)
        label_scan.update(label_values, splits)
        for name in dialect.names:
            scans[name].update(distincts[name], chunk.start, keep, train)
        sample.offer(frame, chunk.start, keep, config.seed)
        if spill is not None:
            spill.add(chunk.start, len(frame), distincts)
        del frame, chunk, label_values, distincts
        release_memory()
    if spill is not None:
        spill.finish()
    if rows < MIN_DATA_ROWS:
        raise failer(source)(f"only {rows} data row(s); at least {MIN_DATA_ROWS} are needed to train and evaluate")
    types = decide.column_types(scans, opener, dialect, source)
    try:
        target = decide.label_decision(label, types[label], scans[label], label_scan, config.problem_type)
    except UnusableLabelError as exc:
        raise UnusableLabelError(f"{source}: {exc}") from None
    algorithm = Algorithm(config.algorithm)
    decide.check_label(target, label, algorithm, source)
    decide.check_label_domain(config.objective, target, label, scans[label], opener, dialect, source)
    source_columns = [name for name in dialect.names if name != label]
    encodings = decide.encodings(scans, source_columns, types, label, algorithm, source)
    schema = decide.schema(
        source, label, target, encodings, source_columns, dialect, fractions, config.seed, rows, label_scan
    )
    frame = sample.typed(dialect, types)
    report = decide.data_report(frame, label, target, encodings, types, scans, rows, config, source, fractions)
    stopped = gate_message(report["checks"]["findings"], label)
    if stopped:
        raise DataLeakageError(f"{source}: {stopped}", report=report)
    return Plan(dialect, label, types, encodings, target.mapping, fractions, config.seed, schema, report, source)


def write(
    opener: Opener, plan: Plan, sink: Sink, chunk_bytes: int = STREAM_CHUNK_BYTES, spill: ChunkSpill | None = None
) -> Written:
    """Pass 2: encode every chunk and write it to its split's parts and (test rows) the raw test split.

    The chunks come from the ``spill`` of pass 1 when it holds them all, else from the upload again.
    """
    dialect, label = plan.dialect, plan.label
    source_columns = [name for name in dialect.names if name != label]
    encoder = LineEncoder(plan.encodings, plan.types)
    writers = {split: PartWriter(sink, split) for split in SPLITS}
    raw = sink.open(RAW_TEST, "text/csv")
    header = True
    try:
        if spill is not None and spill.complete:
            read = spill.chunks()
        else:
            read = _distinct_chunks(opener, dialect, plan.source, chunk_bytes)
        for start, _, distincts in read:
            y, keep = decide.encode_label_rows(distincts[label], plan.types[label], plan.mapping)
            kept = np.flatnonzero(keep)
            splits = split_of_rows(plan.seed, start, len(keep), plan.fractions)[keep]
            columns = encoder.chunk_columns(distincts)
            for number, split in enumerate(SPLITS):
                rows = splits == number
                if rows.any():
                    writers[split].write(encoder.text(columns, kept[rows], y[rows]), int(rows.sum()))
            test = kept[splits == SPLITS.index("test")]
            if header:
                empty = typed_frame(distincts, plan.types, source_columns, test[:0])
                raw.write(to_source_csv(empty, dialect.delimiter, header=True).decode("utf-8"))
                header = False
            if len(test):
                raw.write(source_text(distincts, plan.types, source_columns, test, dialect.delimiter))
            del distincts, columns
            release_memory()
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raw.abort()
        raise
    written = Written()
    for split, writer in writers.items():
        written.parts[split] = writer.close()
        written.rows[split] = writer.rows
    written.raw_test_bytes = raw.close()
    return written


def _distinct_chunks(opener: Opener, dialect: Dialect, source: str, chunk_bytes: int) -> Iterator[SpilledChunk]:
    """The upload read again: each chunk's first row, rows and distinct values, as a spill holds them."""
    for chunk in chunks(opener, dialect, source, chunk_bytes):
        yield chunk.start, len(chunk.frame), distinct_values(chunk.frame, dialect.delimiter, dialect.names)


def distinct_values(frame: pd.DataFrame, delimiter: str, names: list[str]) -> dict[str, _Distinct]:
    """Each column's distinct values, read once for everything the chunk is used for."""
    return {name: _Distinct(frame[name].to_numpy(), delimiter) for name in names}


def typed_frame(
    distincts: dict[str, _Distinct], types: dict[str, str], names: list[str], rows: np.ndarray | None = None
) -> pd.DataFrame:
    """Columns ``names`` (of ``rows``, else all) as the whole-file reader types them, by the whole file's types."""
    columns = {}
    for name in names:
        distinct = distincts[name]
        codes = distinct.codes if rows is None else distinct.codes[rows]
        values = distinct.typed_values(types[name])
        columns[name] = pd.Series(values[codes], name=name, dtype=object if types[name] == "text" else None)
    return pd.DataFrame(columns)


def type_frame(frame: pd.DataFrame, delimiter: str, types: dict[str, str]) -> pd.DataFrame:
    """The chunk's columns as the whole-file reader types them (the types decided on the whole file)."""
    return typed_frame(distinct_values(frame, delimiter, list(types)), types, list(types))


class _Sample:
    """A uniform sample of labelled rows: the ``size`` rows of smallest ``row_keys`` (chunking-independent)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.frame: pd.DataFrame | None = None
        self.keys = np.zeros(0, dtype=np.uint64)
        self.rows = np.zeros(0, dtype=np.int64)

    def offer(self, frame: pd.DataFrame, start: int, keep: np.ndarray, seed: int) -> None:
        keys = row_keys(seed, start, len(frame))
        candidates = keep.copy()
        if len(self.keys) >= self.size:
            candidates &= keys < self.keys.max()
        if not candidates.any():
            return
        rows = np.flatnonzero(candidates)
        keys = np.concatenate([self.keys, keys[rows]])
        positions = np.concatenate([self.rows, start + rows])
        held = len(self.keys)
        chosen = np.sort(np.argpartition(keys, self.size - 1)[: self.size]) if len(keys) > self.size else None
        # the rows are taken once they are chosen: the held ones first, then this chunk's, in order
        kept, new = (
            (np.arange(held), rows) if chosen is None else (chosen[chosen < held], rows[chosen[chosen >= held] - held])
        )
        parts = [frame.iloc[new]]
        if self.frame is not None and len(kept):
            parts.insert(0, self.frame if len(kept) == held else self.frame.iloc[kept])
        self.frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
        self.keys, self.rows = (keys, positions) if chosen is None else (keys[chosen], positions[chosen])

    def typed(self, dialect: Dialect, types: dict[str, str]) -> pd.DataFrame:
        """The sampled rows in file order, typed; ``attrs['rows']`` their data-row positions."""
        order = np.argsort(self.rows, kind="stable")
        raw = (
            self.frame.iloc[order].reset_index(drop=True)
            if self.frame is not None
            else pd.DataFrame({name: pd.Series(dtype=object) for name in dialect.names})
        )
        frame = type_frame(raw, dialect.delimiter, types)
        frame.attrs["rows"] = self.rows[order]
        return frame
