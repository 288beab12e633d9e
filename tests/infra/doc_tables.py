"""Markdown tables of the docs, read by the tests that hold them to the repository."""

from __future__ import annotations

import re
from pathlib import Path


def cells(line: str) -> list[str]:
    """The cells of one Markdown table row (``\\|`` inside a cell is a literal bar)."""
    inner = line.strip().removeprefix("|").removesuffix("|")
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", inner)]


def table_rows(header: tuple[str, ...], path: Path) -> list[tuple[list[str], int]]:
    """(cells, line number) of each body row of every table of ``path`` whose header row is ``header``."""
    rows = []
    in_table = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.lstrip().startswith("|"):
            in_table = False
            continue
        row = cells(line)
        if tuple(row) == header:
            in_table = True
        elif in_table and not all(set(cell) <= set("-: ") for cell in row):
            assert len(row) == len(header), f"{path.name}:{number}: expected {len(header)} cells: {line}"
            rows.append((row, number))
    return rows
