"""The training job's data as the built-in XGBoost container reads it: channels, files, CSV.

Data: every object under each channel's ``S3Prefix`` (skipping names starting with ``.`` or ``_``,
as ``data_utils._is_data_file`` does). CSV means label in column 0, no header, numeric only; a
text cell is read as 0 (C ``strtof``, what the container's parser does, so a header row is silently
read as data) and an empty cell as missing. A channel without ``ContentType`` is LIBSVM to the
container, and CSV lines then fail its LIBSVM check.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import botocore.exceptions
import numpy as np
import pandas as pd

from .hyperparameters import UserError
from .lean_xgboost import import_xgboost

xgb = import_xgboost()


class DataDownloadError(Exception):
    """The channel's S3 data could not be listed or downloaded (a ClientError in SageMaker)."""


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/key`` into bucket and key."""
    if not uri.startswith("s3://"):
        raise UserError(f"{uri} is not a valid S3 URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def content_type_of(channel: dict[str, Any]) -> str:
    """``data_utils.get_content_type``: 'csv' | 'libsvm' | 'parquet' | 'recordio-protobuf'."""
    raw = channel.get("ContentType")
    if raw is None:
        return "libsvm"
    base, *rest = [token.strip() for token in raw.lower().split(";")]
    params = dict(token.split("=", 1) for token in rest if "=" in token)
    if base in ("csv", "text/csv"):
        if params.get("label_size", "1") != "1":
            raise UserError(
                f"{raw} is not an accepted csv ContentType. Optional parameter label_size must be equal to 1"
            )
        return "csv"
    if base in ("libsvm", "text/libsvm", "text/x-libsvm"):
        return "libsvm"
    if base in ("parquet", "application/x-parquet"):
        return "parquet"
    if base in ("recordio-protobuf", "application/x-recordio-protobuf"):
        return "recordio-protobuf"
    raise UserError(
        f"{raw} is not an accepted ContentType: csv, libsvm, parquet, recordio-protobuf, text/csv, "
        "text/libsvm, text/x-libsvm, application/x-parquet, application/x-recordio-protobuf."
    )


def validate_channels(input_data_config: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``channel_validation``: train required, validation optional, nothing else."""
    channels = {channel["ChannelName"]: channel for channel in input_data_config}
    if "train" not in channels:
        raise UserError("Missing required channel: train")
    for name in channels:
        if name not in ("train", "validation", "code"):
            raise UserError(f"Extraneous channel found: {name}")
    return channels


def download_channel(s3_client, channel: dict[str, Any], destination: Path) -> list[Path]:
    """Copy every data object under the channel's S3Prefix into ``destination``."""
    source = channel["DataSource"].get("S3DataSource") or {}
    if source.get("S3DataType", "S3Prefix") != "S3Prefix":
        raise UserError(f"S3DataType {source.get('S3DataType')} is not supported by the local emulator")
    bucket, prefix = parse_s3_uri(source["S3Uri"])
    destination.mkdir(parents=True, exist_ok=True)
    files = []
    found_any = False
    try:
        for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                found_any = True
                key = item["Key"]
                name = key.rsplit("/", 1)[-1]
                if not name or name.startswith((".", "_")):
                    continue
                target = destination / key[len(prefix) :].lstrip("/").replace("/", "__")
                s3_client.download_file(bucket, key, str(target))
                files.append(target)
    except botocore.exceptions.ClientError as error:
        raise DataDownloadError(f"Data download failed:{error}") from error
    if not found_any:
        raise DataDownloadError(
            f'No S3 objects found under S3 URL "{source["S3Uri"]}" given in input data source. Please ensure '
            "that the bucket exists in the selected region, that objects exist under that S3 prefix, "
            f'and that the role has "s3:ListBucket" permissions on bucket "{bucket}".'
        )
    return sorted(files)


def _sniff_delimiter(line: str) -> str:
    try:
        return csv.Sniffer().sniff(line).delimiter
    except Exception as error:  # noqa: BLE001 — the container wraps whatever the sniffer raises
        raise UserError(f"Could not determine delimiter on line {line[:50]}:\n{error}") from error


def _looks_like_libsvm(line: str) -> bool:
    parts = line.strip().split(" ")
    label = parts[0].split(":")
    try:
        if len(label) > 2:
            return False
        for piece in label:
            float(piece)
    except ValueError:
        return False
    return all(":" in part for part in parts[1:])


def validate_files(files: list[Path], file_type: str) -> None:
    """``data_utils.validate_data_file_path``: a first-line check per file."""
    for path in files:
        with open(path, errors="ignore") as handle:
            first_line = handle.readline()
        if file_type == "csv":
            _sniff_delimiter(first_line)
        elif file_type == "libsvm" and not _looks_like_libsvm(first_line):
            raise UserError(
                f"First line '{first_line[:50]}...' of file '{path.name}' is not 'LIBSVM' format. "
                "Please ensure the file is in 'LIBSVM' format."
            )


def _strtof(cell: str) -> float:
    cell = cell.strip()
    if cell == "":
        return np.nan
    try:
        return float(cell)
    except ValueError:
        return 0.0


def _numeric_values(paths: list[Path], delimiter: str) -> np.ndarray:
    """The files' cells as 32-bit floats (what a DMatrix keeps): empty = missing (NaN), text = 0, as the
    container's strtof reads them.

    The fast path lets pandas parse every cell as a float32 (what preprocess writes), one file at a
    time; a file with a non-numeric cell sends every file the slow cell-by-cell way. Read as float64
    and whole, a 700 MB train split took about 10 GB before the DMatrix was built.
    """
    try:
        blocks = [
            pd.read_csv(
                path, header=None, sep=delimiter, na_values=[""], keep_default_na=False, dtype=np.float32
            ).to_numpy()
            for path in paths
        ]
    except ValueError:  # a cell that is not a number
        text = pd.concat(
            [pd.read_csv(path, header=None, sep=delimiter, dtype=str, keep_default_na=False) for path in paths],
            ignore_index=True,
        )
        return np.vectorize(_strtof, otypes=[np.float32])(text.to_numpy())
    if len({block.shape[1] for block in blocks}) > 1:  # files of different widths: the missing cells are NaN
        return pd.concat([pd.DataFrame(block) for block in blocks], ignore_index=True).to_numpy(dtype=np.float32)
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)


def read_csv_matrix(files: list[Path], csv_weights: int = 0) -> xgb.DMatrix:
    """Label-first, headerless CSV files -> DMatrix, delimiter sniffed from the first line."""
    with open(files[0], errors="ignore") as handle:
        delimiter = _sniff_delimiter(handle.readline())
    paths = [path for path in files if path.stat().st_size > 0]
    if not paths:
        return None
    values = _numeric_values(paths, delimiter)
    try:
        if csv_weights == 1:
            return xgb.DMatrix(values[:, 2:], label=values[:, 0], weight=values[:, 1])
        return xgb.DMatrix(values[:, 1:], label=values[:, 0])
    except Exception as error:  # noqa: BLE001
        raise UserError(f"Failed to load csv data with exception:\n{error}") from error
