"""read_table on files that defeat a fixed-size prefix, and on content that is not a table.

Detection (header, delimiter, encoding, binary data) reads whole records and every chunk of the
file; content that is not a table is refused by InvalidCsvError naming the line.
"""

from __future__ import annotations

import csv
import io
import math
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagedrop.dataset import MISSING_TOKENS, read_table
from sagedrop.dataset.detect import CHUNK_BYTES
from sagedrop.dataset.numbers import read_number
from sagedrop.errors import InvalidCsvError
from sagedrop.limits import COLUMN_NAME_MAX_CHARS

SOURCE = "incoming/x/data.csv"


def written(rows: list[list[object]], delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


def refused(data: bytes, **kwargs) -> str:
    with pytest.raises(InvalidCsvError) as caught:
        read_table(data, source=SOURCE, **kwargs)
    message = str(caught.value)
    assert message.startswith(f"{SOURCE}: ")
    return message.removeprefix(f"{SOURCE}: ")


# --- header and delimiter: whole records, whatever their length -------------------------------

NAME_CHARACTERS = st.characters(
    blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff\u2028\u2029\x85"
) | st.sampled_from([",", ";", "\t", "|", '"', "\n", " "])


def spells_a_number(name: str) -> bool:
    readings = [read_number(name, delimiter) for delimiter in (",", ";")]
    return any(reading.problem or not math.isnan(reading.value) for reading in readings)


# How a line that starts an HTML/XML or JSON document begins: the reader refuses such a file by its first line.
DOCUMENT_STARTS = ("<!doctype", "<html", "<?xml", "{", "[")


def usable_name(name: str) -> bool:
    return (
        name == name.strip()
        and name != ""
        and name.lower() not in MISSING_TOKENS
        and not name.lower().startswith(DOCUMENT_STARTS)
        and not spells_a_number(name)
    )


@st.composite
def wide_tables(draw):
    """A header of distinct names (any text, some very long), a numeric column among text ones."""
    width = draw(st.integers(2, 40))
    long = draw(st.booleans())
    size = st.integers(1, COLUMN_NAME_MAX_CHARS if long else 12)
    names = draw(
        st.lists(
            st.text(NAME_CHARACTERS, min_size=1, max_size=COLUMN_NAME_MAX_CHARS)
            .filter(usable_name)
            .flatmap(lambda text: size.map(lambda n: (text * (n // len(text) + 1))[:n].strip()))
            .filter(usable_name),
            min_size=width,
            max_size=width,
            unique=True,
        )
    )
    rows = draw(st.integers(20, 24))
    numeric = draw(st.integers(0, width - 1))
    body = [[str(r * 7 + c) if c == numeric else f"v{(r + c) % 3}" for c in range(width)] for r in range(rows)]
    return names, body


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(table=wide_tables(), delimiter=st.sampled_from([",", ";", "\t", "|"]))
def test_any_table_written_with_csv_writer_keeps_its_header_and_rows(table, delimiter):
    names, body = table
    parsed = read_table(written([names, *body], delimiter))
    assert parsed.header is True
    assert parsed.delimiter == delimiter
    assert parsed.columns == names
    assert len(parsed.frame) == len(body)


def test_a_header_and_first_row_over_64_kib_stay_a_header():
    # 3,000 columns: the header line alone is ~50 KiB, with the first row ~75 KiB.
    names = [f"feature_number_{i:05d}" for i in range(2_999)] + ["label"]
    body = [[f"{(r * c) % 97}.5" for c in range(2_999)] + ["yes" if r % 2 else "no"] for r in range(25)]
    data = written([names, *body])
    assert len(data.split(b"\n")[0]) + len(data.split(b"\n")[1]) > 64 * 1024

    table = read_table(data)

    assert table.header is True
    assert table.columns == names
    assert sorted(table.frame["label"].unique()) == ["no", "yes"]  # the label's name is no class


def test_a_first_record_of_a_long_quoted_text_field_does_not_hide_the_delimiter():
    # The first data record holds 100,000 characters of text full of commas and quotes.
    note = ('a "quoted", comma, text ' * 4_200)[:100_000]
    rows = [["id", "note", "y"], [0, note, 0]] + [[i, f"short {i}", i % 2] for i in range(1, 30)]
    table = read_table(written(rows, ";"))
    assert table.delimiter == ";" and table.header is True
    assert table.frame["note"][0] == note.strip()


# --- content that is not a table -------------------------------------------------------------

GOOD = [["a", "b", "label"]] + [[i, "x" if i % 2 else "y", i % 3] for i in range(30)]


def test_a_nul_byte_anywhere_is_named_with_its_line():
    lines = written(GOOD * 300).split(b"\n")  # far beyond the first 8 KiB and 64 KiB
    lines[5_000] = b"1,\x00,2"
    message = refused(b"\n".join(lines))
    assert "NUL byte on line 5,001" in message


def test_utf16_without_a_byte_order_mark_is_named():
    message = refused(written(GOOD).decode().encode("utf-16-le"))
    assert "UTF-16 text without a byte-order mark" in message


def test_binary_data_after_megabytes_of_text_is_refused_with_its_line():
    text = written(GOOD * 6_000)
    assert len(text) > CHUNK_BYTES
    message = refused(text + bytes(range(1, 32)) * 2_000)
    lines = text.count(b"\n")
    assert f"binary data (control characters from line {lines + 1:,} on)" in message


def test_a_stray_control_character_in_text_is_kept():
    rows = [["a", "note", "y"]] + [[i, "bell\x07" if i == 3 else f"n{i % 4}", i % 2] for i in range(40)]
    assert read_table(written(rows)).frame["note"][3] == "bell\x07"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1, "b": "x", "y": 0}\n' * 30, "line 1 is a JSON object, not a row of a table: JSON lines are not CSV"),
        ('\n\n{"a": 1, "b": 2}\n{"a": 2, "b": 3}\n', "line 3 is a JSON object"),
        ("{\n" + '  "rows": [1, 2, 3]\n' * 30 + "}\n", "line 1 is a JSON object"),
        ('[{"a": 1, "y": 0},\n' + ' {"a": 2, "y": 1},\n' * 30 + "]\n", "line 1 starts a JSON array"),
        ("[\n" + "  [1, 2, 3],\n" * 30 + "]\n", "line 1 starts a JSON array"),
        ("[[1, 2, 3],\n" + " [4, 5, 6],\n" * 30 + "]\n", "line 1 starts a JSON array"),
        ('[ {"a": 1},\n' + ' {"a": 2},\n' * 30 + "]\n", "line 1 starts a JSON array"),
        ("[[\n" + "  1, 2],\n" * 30 + "]\n", "line 1 starts a JSON array"),
        ("<!DOCTYPE html>\n<html><body>Access Denied</body></html>\n", "line 1 starts an HTML or XML document"),
        ('<?xml version="1.0"?>\n<Error><Code>NoSuchKey</Code></Error>\n', "HTML or XML document"),
    ],
)
def test_json_html_and_xml_are_refused_by_name(text, expected):
    assert expected in refused(text.encode())


@pytest.mark.parametrize("first", ["[[", "[{x}", "[ [note"])
def test_a_header_that_only_begins_like_a_json_array_is_read_as_a_header(first):
    rows = [[first, "y"]] + [[i, i % 2] for i in range(30)]

    table = read_table(written(rows))

    assert list(table.frame.columns) == [first, "y"]
    assert len(table.frame) == 30


def test_a_field_over_the_csv_modules_limit_is_named_with_the_line_where_it_starts():
    limit = csv.field_size_limit()
    rows = written(GOOD[:10]) + b'5,"' + b"x" * (limit + 10) + b'",1\n' + written(GOOD[10:])
    message = refused(rows)
    assert message.startswith(f"line 11: a field longer than {limit:,} characters")


def test_an_unclosed_quote_is_named_with_the_line_where_it_opens():
    body = written(GOOD[:6]) + b'5,"never closed,1\n' + written(GOOD[6:] * 6_000)
    assert "line 7: a field longer than" in refused(body)


def test_a_header_only_file_has_no_data_rows():
    message = refused(b"age,job,balance,y\n")
    assert message.startswith("no data rows: the file holds a single line")
    assert "only 1 data row" not in message


def test_a_column_name_over_the_limit_is_named():
    name = "q" * (COLUMN_NAME_MAX_CHARS + 1)
    message = refused(written([["a", name, "y"]] + [[i, i * 2, i % 2] for i in range(30)]))
    assert message.startswith(f"line 1: the name of column 2 is {COLUMN_NAME_MAX_CHARS + 1:,} characters long")
    assert f"at most {COLUMN_NAME_MAX_CHARS:,} characters" in message


def test_a_column_name_at_the_limit_is_fine():
    name = "q" * COLUMN_NAME_MAX_CHARS
    table = read_table(written([["a", name, "y"]] + [[i, i * 2, i % 2] for i in range(30)]))
    assert table.columns == ["a", name, "y"]


def test_a_configured_delimiter_reads_past_a_long_first_record():
    first = [f"c{i}_" + "".join(string.ascii_lowercase[(i + j) % 26] for j in range(30)) for i in range(3_000)]
    rows = [first + ["y"]] + [[str(i + j) for j in range(3_000)] + [str(i % 2)] for i in range(22)]
    table = read_table(written(rows, "|"), delimiter="|")
    assert table.header is True and table.columns[-1] == "y" and len(table.frame) == 22


def test_an_unreadable_first_record_is_named_whatever_the_delimiter_setting():
    body = b'a;"' + b"x" * (csv.field_size_limit() + 1) + b"\n" + b"1;2\n" * 30
    assert refused(body, delimiter=";").startswith("line 1: a field longer than")
    assert refused(body).startswith("line 1: a field longer than")
