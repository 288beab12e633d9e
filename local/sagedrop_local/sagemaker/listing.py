"""List* calls: summaries, filters, sorting and NextToken paging as the SageMaker list APIs define them."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

from botocore.utils import parse_to_aware_datetime

from .errors import validation_exception
from .store import Store

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
    except (ValueError, KeyError, TypeError) as error:
        raise validation_exception("Invalid pagination token.") from error


def summaries(store: Store, table: str, keys: tuple[str, ...]) -> list[dict]:
    """List* rows, copied under the lock (background threads change the tables)."""
    with store.read() as tables:
        return [{key: copy.deepcopy(record[key]) for key in keys if key in record} for record in tables[table].values()]


def paginate(items: list[dict], params: dict, name_key: str, status_key: str | None) -> tuple[list[dict], dict]:
    """Filter, sort and page a List* call; returns the page and ``{"NextToken": ...}`` or ``{}``."""
    if params.get("NameContains"):
        needle = params["NameContains"].lower()
        items = [item for item in items if needle in item[name_key].lower()]
    if status_key and params.get("StatusEquals"):
        items = [item for item in items if item.get(status_key) == params["StatusEquals"]]
    for param, key, keep in (
        ("CreationTimeBefore", "CreationTime", lambda a, b: a < b),
        ("CreationTimeAfter", "CreationTime", lambda a, b: a > b),
        ("LastModifiedTimeBefore", "LastModifiedTime", lambda a, b: a < b),
        ("LastModifiedTimeAfter", "LastModifiedTime", lambda a, b: a > b),
    ):
        if params.get(param) is not None:
            bound = parse_to_aware_datetime(params[param])
            items = [item for item in items if key in item and keep(item[key], bound)]
    sort_by = params.get("SortBy") or "CreationTime"
    sort_key = {"Name": name_key, "CreationTime": "CreationTime", "Status": status_key}.get(sort_by) or "CreationTime"
    descending = (params.get("SortOrder") or "Descending") == "Descending"
    items = sorted(items, key=lambda item: (item.get(sort_key), item[name_key]), reverse=descending)
    start = decode_token(params.get("NextToken"))
    size = min(params.get("MaxResults") or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    page = copy.deepcopy(items[start : start + size])
    token = {"NextToken": encode_token(start + size)} if start + size < len(items) else {}
    return page, token


def list_call(
    store: Store, params: dict, table: str, keys: tuple[str, ...], result_key: str, status_key: str | None = None
) -> dict[str, Any]:
    """One List* answer: the table's summaries (``keys[0]`` is the name) filtered, sorted and paged."""
    page, token = paginate(summaries(store, table, keys), params, keys[0], status_key)
    return {result_key: page, **token}
