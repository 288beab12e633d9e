"""What the ``sagedrop`` command prints: nothing from the data may steer the terminal.

Column names, class labels and values in error messages come from uploaded files. Control
characters among them (an ANSI escape sequence, a carriage return that overwrites the line, a
bidirectional override that reorders it) are printed as visible escapes (``\\x1b``, ``\\u202e``);
the command's own line feeds and tabs pass.
"""

from __future__ import annotations

import re
from typing import IO, Any

# C0 controls but tab and line feed, DEL, C1 controls, bidirectional embeddings/overrides/isolates,
# and the line and paragraph separators.
_STEERING = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """``text`` with every character that could steer a terminal written as a visible escape."""
    return _STEERING.sub(_visible, text)


def one_line(text: str) -> str:
    """``text`` escaped, its line feeds too: a reason printed on one line stays one line."""
    return escape(text).replace("\n", "\\n").replace("\t", " ")


class EscapingStream:
    """A text stream that escapes what it is given before passing it on (see :func:`escape`)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(escape(text))

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding, ...
        return getattr(self._stream, name)
