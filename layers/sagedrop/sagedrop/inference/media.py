"""Content types the inference stages read and write, and request bodies as text."""

from __future__ import annotations

from sagedrop.errors import InvalidRequestError

CSV = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"
ANY = "*/*"


def media_type(content_type: str | None) -> str:
    """``'text/csv; charset=utf-8'`` → ``'text/csv'``; ``''`` for none."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def accepted(accept: str | None, offered: tuple[str, ...], default: str) -> str:
    """The first of the Accept header's media types that is ``offered``; ``default`` for none or */*.

    Raises InvalidRequestError (406) when the header names only types that are not offered.
    """
    wanted = [media_type(part) for part in (accept or "").split(",") if media_type(part)]
    if not wanted or ANY in wanted:
        return default
    for candidate in wanted:
        if candidate in offered:
            return candidate
    raise InvalidRequestError(f"cannot answer Accept {accept!r}: the answer is {' or '.join(offered)}", status=406)


def decode_text(body: bytes | bytearray | str) -> str:
    """A request body as text: UTF-8 (a byte-order mark is dropped); anything else is a 400."""
    if isinstance(body, str):
        return body.removeprefix("\ufeff")
    try:
        return bytes(body).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidRequestError(
            f"the request body is not UTF-8 text (undecodable byte at offset {error.start})"
        ) from None
