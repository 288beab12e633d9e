"""Nothing the data holds may steer the terminal: what a `sagedrop` command prints is escaped."""

from __future__ import annotations

import io
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagedrop_local.cli import main
from sagedrop_local.terminal import EscapingStream, escape, one_line


def stopped(argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    return exited.value.code


def test_a_path_with_control_characters_is_printed_escaped(tmp_path):
    path = tmp_path / "evil\x1b[2J\rname.csv"
    message = stopped(["local", "run", str(path), "--state-dir", str(tmp_path / "state")])
    assert "\x1b" not in message and "\r" not in message
    assert "evil\\x1b[2J\\x0dname.csv: no such file" in message


STEERING = [chr(code) for code in [*range(0, 9), *range(11, 32), *range(0x7F, 0xA0)]] + [
    "\u061c", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
    "\u2066", "\u2067", "\u2068", "\u2069", "\u2028", "\u2029",
]  # fmt: skip


@given(st.text(st.sampled_from(STEERING) | st.characters(blacklist_categories=("Cs",))))
def test_nothing_escaped_can_steer_a_terminal(text):
    shown = escape(text)
    assert not set(shown) & set(STEERING)
    assert "\n" not in one_line(text) and not set(one_line(text)) & set(STEERING)


@given(st.text(string.printable.replace("\r", "").replace("\x0b", "").replace("\x0c", "")))
def test_plain_text_passes_unchanged(text):
    assert escape(text) == text


def test_escapes_are_visible():
    assert escape("a\x1b[31mred\x07\u202eevil\x9b") == "a\\x1b[31mred\\x07\\u202eevil\\x9b"
    assert one_line("two\nlines\tand a tab") == "two\\nlines and a tab"


def test_the_escaping_stream_escapes_every_write():
    target = io.StringIO()
    stream = EscapingStream(target)
    stream.write("label \x1b[2J\n")
    stream.flush()
    assert target.getvalue() == "label \\x1b[2J\n" and stream.isatty() is False
