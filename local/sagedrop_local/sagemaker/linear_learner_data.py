"""Reading a Linear Learner training job's channels the way the built-in container does.

Channels ``train`` (required), ``validation`` and ``test``; anything else fails the input data
configuration check. ``text/csv``: label in the first column, no header, numbers only, every row as
wide as the others; a missing ``ContentType`` means ``application/x-recordio-protobuf`` (real
RecordIO is not emulated; CSV bytes under that type fail as in SageMaker). Binary labels are 0 or 1,
multiclass labels 0..num_classes-1; ``feature_dim`` must equal the number of columns after the label
unless it is ``auto``; validation and test rows must be as wide as the training rows.

The texts of the data errors ("Unable to read data channel 'train'. Requested content-type is
'text/csv'. Please verify the data matches the requested content-type.", the NaN and infinity
variants) and of the input data configuration error are the first-party algorithm SDK's; the detail
after "Caused by:" (file, line, column) is this emulator's. The feature_dim and label messages are
inferred.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import linear_learner_hyperparameters as llhp
from .hyperparameters import UserError
from .linear_learner_hyperparameters import BINARY, REGRESSOR, ClientError

CHANNELS = ("train", "validation", "test")
CSV, RECORDIO = "text/csv", "application/x-recordio-protobuf"
_RECORDIO_MAGIC = b"\x0a\x23\xd7\xce"  # little-endian 0xced7230a, the first bytes of a RecordIO file


def _configuration_error(detail: str) -> ClientError:
    return ClientError(
        "Unable to initialize the algorithm. Failed to validate input data configuration.", "ValidationError", detail
    )


def content_type(channel: dict[str, Any]) -> str:
    raw = channel.get("ContentType") or RECORDIO
    base, *options = [part.strip() for part in raw.lower().split(";")]
    if base in ("text/csv", "csv"):
        if dict(o.split("=", 1) for o in options if "=" in o).get("label_size", "1") != "1":
            raise _configuration_error(f"Linear Learner needs the label in the first column: {raw!r}")
        return CSV
    if base in ("application/x-recordio-protobuf", "recordio-protobuf"):
        return RECORDIO
    raise _configuration_error(f"{raw!r} is not one of {[CSV, RECORDIO]}")


def validate_channels(input_data_config: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    channels = {channel["ChannelName"]: channel for channel in input_data_config}
    if "train" not in channels:
        raise _configuration_error("'train' is a required property")
    extra = [name for name in channels if name not in CHANNELS]
    if extra:
        names = ", ".join(repr(name) for name in extra)
        raise _configuration_error(
            f"Additional properties are not allowed ({names} {'was' if len(extra) == 1 else 'were'} unexpected)"
        )
    return channels


def _unreadable(channel: str, content_type: str, detail: str) -> ClientError:
    return ClientError(
        f"Unable to read data channel '{channel}'. Requested content-type is '{content_type}'. "
        "Please verify the data matches the requested content-type.",
        "MXNetError",
        detail,
    )


def _first_bad_cell(path: Path) -> str:
    with open(path, newline="", errors="replace") as handle:
        for line, row in enumerate(csv.reader(handle), start=1):
            for column, cell in enumerate(row, start=1):
                try:
                    float(cell)
                except ValueError:
                    return f"[file '{path.name}', line {line}, column {column}] cannot read {cell[:40]!r} as a number"
    return f"[file '{path.name}'] cannot be read as numbers"


def read_csv_channel(channel: str, files: list[Path]) -> np.ndarray:
    """Every row of the channel's CSV files as floats: same width, no missing or infinite value."""
    tables = []
    for path in files:
        if path.stat().st_size == 0:
            continue
        try:
            table = pd.read_csv(path, header=None, dtype=float, na_values=[""], keep_default_na=False)
        except pd.errors.EmptyDataError:
            continue
        except pd.errors.ParserError as error:
            raise _unreadable(channel, CSV, f"[file '{path.name}'] {error}".strip()) from None
        except ValueError:
            raise _unreadable(channel, CSV, _first_bad_cell(path)) from None
        values = table.to_numpy(dtype=float)
        for kind, bad in (("missing (NaN)", np.isnan(values)), ("infinite floating point", np.isinf(values))):
            if bad.any():
                row, column = (int(i) + 1 for i in np.argwhere(bad)[0])
                raise ClientError(
                    f"Unable to read data channel '{channel}'. Found {kind} values. Please remove any {kind} "
                    "values in the input data.",
                    "MXNetError",
                    f"[file '{path.name}', line {row}, column {column}]",
                )
        tables.append((path, values))
    if not tables:
        raise ClientError(f"Unable to read data channel '{channel}'. The channel holds no data.")
    widths = {values.shape[1] for _, values in tables}
    if len(widths) > 1:
        detail = ", ".join(f"'{path.name}' has {values.shape[1]} columns" for path, values in tables)
        raise _unreadable(channel, CSV, detail)
    return np.vstack([values for _, values in tables])


def _check_recordio(channel: str, files: list[Path]) -> None:
    for path in files:
        with open(path, "rb") as handle:
            if handle.read(4) == _RECORDIO_MAGIC:
                raise UserError(
                    "application/x-recordio-protobuf data is not supported by the local SageMaker emulator; "
                    "write text/csv and set ContentType text/csv on every channel"
                )
    raise _unreadable(channel, RECORDIO, "the channel's objects are not RecordIO-wrapped protobuf")


def _check_labels(channel: str, labels: np.ndarray, params: dict[str, Any]) -> None:
    predictor = params["predictor_type"]
    if predictor == REGRESSOR:
        return
    limit = 2 if predictor == BINARY else params["num_classes"]
    bad = np.flatnonzero((labels != np.round(labels)) | (labels < 0) | (labels >= limit))
    if bad.size:
        allowed = "0 or 1" if predictor == BINARY else f"integers from 0 to {limit - 1} (num_classes - 1)"
        raise ClientError(
            f"Unable to read data channel '{channel}'. Labels for predictor_type {predictor} must be {allowed}; "
            f"row {bad[0] + 1} has the label {labels[bad[0]]:g}."
        )


def read_channels(
    channels: dict[str, dict[str, Any]],
    content_types: dict[str, str],
    files: dict[str, list[Path]],
    params: dict[str, Any],
    log: Callable[[str], None],
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(features, labels) per channel present, checked against the hyperparameters."""
    data: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in CHANNELS:
        if name not in channels:
            continue
        if content_types[name] == RECORDIO:
            _check_recordio(name, files[name])
        values = read_csv_channel(name, files[name])
        features = values.shape[1] - 1
        expected = params["feature_dim"] if name == "train" else data["train"][0].shape[1]
        if features < 1 or (expected != llhp.AUTO and features != expected):
            raise ClientError(
                f"Unable to read data channel '{name}'. The data has {features} features (columns after the label) "
                f"but feature_dim is {expected}."
            )
        _check_labels(name, values[:, 0], params)
        data[name] = (values[:, 1:], values[:, 0])
        log(f"Channel {name}: {len(values)} rows, {features} features")
    return data
