"""xgboost imported by the local SageMaker leaves scikit-learn out, and scikit-learn still works after."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import sagedrop_local.sagemaker

FOLDER = Path(sagedrop_local.sagemaker.__file__).parent


def run(code: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True, cwd=FOLDER
    )
    return result.stdout.split()


def test_xgboost_imported_lean_does_not_import_scikit_learn_and_still_trains():
    out = run(
        """
        import sys
        import numpy as np
        from lean_xgboost import import_xgboost
        xgb = import_xgboost()
        print("sklearn" in sys.modules)
        rows = np.random.default_rng(0).random((200, 3))
        booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(rows, label=rows[:, 0] > 0.5), 5)
        print(booster.predict(xgb.DMatrix(rows), pred_contribs=True).shape[1])
        import sklearn.metrics  # hidden only while xgboost's own modules execute
        print(sklearn.metrics.roc_auc_score([0, 1], [0.2, 0.8]))
        """
    )
    assert out == ["False", "4", "1.0"]


def test_without_the_hook_xgboost_pulls_in_scikit_learn():
    # The reason the hook exists: if xgboost stops importing scikit-learn, the hook can go.
    assert run("import sys, xgboost; print('sklearn' in sys.modules)") == ["True"]


def test_scikit_learn_imported_first_is_left_alone():
    out = run(
        """
        from lean_xgboost import install
        install()
        import sklearn
        import xgboost
        print(xgboost.compat.SKLEARN_INSTALLED)
        """
    )
    assert out == ["True"]
