"""In-process throughput of the inference stages on raw bank-full rows (not collected by pytest).

    .venv/bin/python -m tests.unit.inference.bench_throughput

All 45,211 rows of the bundled upload, label column removed, as one text/csv request with a header;
best of 5. "decode" reads the answer the XGBoost container writes for them (one float per line).
"""

import gzip
import io
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost

from sagedrop.dataset import prepare_dataset, read_table, to_source_csv
from sagedrop.inference.artifact import ARTIFACT_FILE, FeaturizerArtifact
from sagedrop.inference.serving import DECODE, FEATURIZE, SINGLE, XGBOOST_MODEL_FILE, handle, load_model
from sagedrop.run_config import resolve_run_config

BANK = Path(__file__).resolve().parents[3] / "data" / "bank-full.csv.gz"


def best(call, repeat=5):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    data = gzip.decompress(BANK.read_bytes())
    prepared = prepare_dataset(data, resolve_run_config(None, {"label": "y"}, source="bench"), "bank-full.csv")
    table = read_table(data)
    raw = to_source_csv(table.frame.drop(columns=prepared.schema["label"]), delimiter=table.delimiter)
    rows = len(table.frame)
    train = prepared.train
    dtrain = xgboost.DMatrix(train.iloc[:, 1:].to_numpy(np.float32), label=train.iloc[:, 0])
    params = {"objective": "binary:logistic", "max_depth": 5, "eta": 0.2, "gamma": 4, "min_child_weight": 6}
    booster = xgboost.train(params, dtrain, num_boost_round=50)
    model_dir = Path(tempfile.mkdtemp())
    (model_dir / ARTIFACT_FILE).write_bytes(FeaturizerArtifact.from_schema(prepared.schema).to_json())
    (model_dir / XGBOOST_MODEL_FILE).write_bytes(booster.save_raw("ubj"))
    featurize, decode, single = (load_model(model_dir, mode) for mode in (FEATURIZE, DECODE, SINGLE))

    t_featurize, features = best(lambda: handle(featurize, raw, "text/csv"))
    matrix = pd.read_csv(io.BytesIO(features.body), header=None).to_numpy(np.float32)
    answer = "".join(f"{float(p)}\n" for p in booster.predict(xgboost.DMatrix(matrix))).encode()
    t_decode, decoded = best(lambda: handle(decode, answer, "text/csv", "text/csv"))
    t_decode_json, _ = best(lambda: handle(decode, answer, "text/csv", "application/json"))
    t_single, one = best(lambda: handle(single, raw, "text/csv", "text/csv"))
    assert features.status == decoded.status == 200 and one.body == decoded.body

    print(f"{rows:,} raw rows, {len(raw) / 1e6:.1f} MB of CSV")
    for name, seconds in [
        ("featurize (raw CSV -> features CSV)", t_featurize),
        ("decode (XGBoost CSV -> text/csv)", t_decode),
        ("decode (XGBoost CSV -> application/json)", t_decode_json),
        ("featurize + decode (text/csv)", t_featurize + t_decode),
        ("single: featurize + Booster.predict + decode", t_single),
    ]:
        print(f"  {name:<46} {seconds:6.3f} s  {rows / seconds:9,.0f} rows/s")


if __name__ == "__main__":
    main()
