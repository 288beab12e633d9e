"""read_table: decoding, delimiter and header detection, and one test per bad input."""

import io
import string

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sagedrop.dataset import read_table
from sagedrop.errors import InvalidCsvError


def csv_bytes(rows: list[str], newline: str = "\n") -> bytes:
    return (newline.join(rows) + newline).encode()


GOOD = ["a,b,label"] + [f"{i},{'x' if i % 2 else 'y'},{i % 3}" for i in range(30)]


def test_reads_header_types_and_missing_values():
    rows = ["age;city;score"] + [
        f"{20 + i};{'paris' if i % 2 else ' lyon '};{'NA' if i == 3 else i / 4}" for i in range(25)
    ]
    table = read_table(csv_bytes(rows, "\r\n"), source="s.csv")
    assert table.header is True and table.delimiter == ";"
    assert table.columns == ["age", "city", "score"]
    assert table.frame["age"].dtype == np.int64
    assert table.frame["city"].tolist()[:2] == ["lyon", "paris"]  # stripped
    assert np.isnan(table.frame["score"][3]) and table.frame["score"][4] == 1.0


def test_headerless_file_gets_positional_names():
    rows = [f"{i},{i * 2.5},{'a' if i % 2 else 'b'}" for i in range(25)]
    table = read_table(csv_bytes(rows))
    assert table.header is False
    assert table.columns == ["col_0", "col_1", "col_2"]
    assert len(table.frame) == 25


def test_numeric_column_names_do_not_hide_the_header():
    rows = ["region,2019,2020,total"] + [f"r{i % 3},{i},{i * 2},{i * 3}" for i in range(25)]
    table = read_table(csv_bytes(rows))
    assert table.header is True and table.columns == ["region", "2019", "2020", "total"]


def test_all_text_file_header_detected_by_repeating_values():
    with_header = ["colour,size"] + [
        f"{c},{s}" for c, s in zip(["red", "blue"] * 15, ["S", "M", "L"] * 10, strict=False)
    ]
    assert read_table(csv_bytes(with_header)).header is True
    assert read_table(csv_bytes(with_header[1:])).header is False


def test_configured_delimiter_wins_and_utf8_bom_and_cp1252_are_decoded():
    rows = ["name|value"] + [f"caf\u00e9{i % 3}|{i}" for i in range(25)]
    assert read_table(csv_bytes(rows), delimiter="|").frame["name"][0] == "caf\u00e90"
    bom = b"\xef\xbb\xbf" + csv_bytes(rows)
    assert read_table(bom).columns == ["name", "value"]
    cp1252 = "\n".join(rows).encode("cp1252")
    table = read_table(cp1252)
    assert table.encoding == "cp1252" and table.frame["name"][1] == "caf\u00e91"


def test_utf16_excel_export_is_decoded():
    rows = ["a\tb"] + [f"{i}\t{'u' if i % 2 else 'v'}" for i in range(25)]
    table = read_table("\r\n".join(rows).encode("utf-16"))
    assert table.delimiter == "\t" and table.columns == ["a", "b"]


def test_quoted_fields_with_delimiters_and_newlines():
    rows = ["id,comment,y"] + [f'{i},"hello, ""world""\nline {i % 4}",{i % 2}' for i in range(25)]
    table = read_table(csv_bytes(rows))
    assert table.columns == ["id", "comment", "y"]
    assert table.frame["comment"][0] == 'hello, "world"\nline 0'


def test_mostly_numeric_column_keeps_numbers_and_counts_the_odd_text():
    rows = ["x,y"] + [f"{'oops' if i == 7 else i},{i % 2}" for i in range(200)]
    table = read_table(csv_bytes(rows))
    assert table.is_numeric("x") and table.coerced == {"x": 1}
    assert np.isnan(table.frame["x"][7])


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "the file is empty"),
        (b"  \r\n\n", "the file is empty"),
        (csv_bytes(["x"] + [str(i) for i in range(30)]), "only one column found"),
        (
            csv_bytes(GOOD[:10] + ["5,x,1,extra"] + GOOD[10:]),
            "line 11 has 4 field(s) but the first line has 3",
        ),
        (csv_bytes(GOOD[:6] + ["5,x"] + GOOD[6:]), "line 7 has 2 field(s)"),
        (csv_bytes(["a,b,c", '1,"q,q",2'] + GOOD[1:12] + ['1,"x"'] + GOOD[12:]), "line 14 has 2 field(s)"),
        (csv_bytes(GOOD[:10]), "only 9 data row(s); at least 20"),
        (csv_bytes(["a,b,a"] + GOOD[1:]), "duplicate column name(s) 'a'"),
        (bytes(range(256)) * 40, "binary data"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 100, "gzip"),
        (b"PK\x03\x04" + b"\x00" * 100, "zip archive"),
        (b"\x81\x8d\x8f\x90\x9d,a\n" * 30, "not UTF-8 or Windows-1252"),
    ],
)
def test_bad_input_raises_invalid_csv_naming_the_problem(data, expected):
    with pytest.raises(InvalidCsvError) as caught:
        read_table(data, source="incoming/x/data.csv")
    assert str(caught.value).startswith("incoming/x/data.csv: ")
    assert expected in str(caught.value)


def test_unknown_configured_delimiter_is_rejected():
    with pytest.raises(InvalidCsvError, match="delimiter ':'"):
        read_table(csv_bytes(GOOD), delimiter=":")


# --- property: any frame written as CSV reads back the same -------------------------------

WORDS = (
    st.text(alphabet=string.ascii_letters + " -_", min_size=1, max_size=8)
    .map(str.strip)
    .filter(lambda w: w != "" and w.lower() not in {"na", "nan", "null", "none", "inf", "infinity"})
)
NUMBERS = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False).map(
        lambda x: round(x, 4)
    ),
)


@st.composite
def frames(draw):
    n_rows = draw(st.integers(min_value=20, max_value=60))
    kinds = draw(st.lists(st.sampled_from(["int", "float", "text"]), min_size=2, max_size=6))
    data = {}
    for i, kind in enumerate(kinds):
        if kind == "int":
            values = draw(st.lists(st.integers(-1000, 1000), min_size=n_rows, max_size=n_rows))
        elif kind == "float":
            values = draw(st.lists(NUMBERS, min_size=n_rows, max_size=n_rows))
            values = [float(v) for v in values]
        else:
            vocabulary = draw(st.lists(WORDS, min_size=1, max_size=5, unique=True))
            values = draw(st.lists(st.sampled_from(vocabulary), min_size=n_rows, max_size=n_rows))
        data[f"c{i}_{kind}"] = values
    return pd.DataFrame(data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frame=frames(),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    header=st.booleans(),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_csv_round_trips_through_read_table(frame, delimiter, header, newline):
    text_columns = [c for c in frame.columns if frame[c].dtype == object]
    if not header and len(text_columns) == frame.shape[1]:
        # A headerless all-text file is ambiguous when no first value repeats in its column.
        assume(any((frame[c].iloc[1:] == frame[c].iloc[0]).any() for c in text_columns))
    buffer = io.StringIO()
    frame.to_csv(buffer, sep=delimiter, header=header, index=False, lineterminator=newline)
    table = read_table(buffer.getvalue().encode())

    assert table.delimiter == delimiter
    assert table.header is header
    assert table.frame.shape == frame.shape
    if header:
        assert table.columns == list(frame.columns)
    for read, original in zip(table.frame.columns, frame.columns, strict=True):
        if original.endswith("_text"):
            assert table.frame[read].tolist() == frame[original].tolist()
        else:
            assert table.is_numeric(read)
            np.testing.assert_allclose(
                table.frame[read].to_numpy(dtype=float), frame[original].to_numpy(dtype=float), rtol=0, atol=0
            )
