"""The analysis of a trained model, run after training and before deployment.

It runs in a SageMaker Processing job on the XGBoost image (the model is an XGBoost model, and
xgboost with its scipy dependency does not fit in a Lambda): it reads the trained model, the
validation split and a sample of the test split, and writes ``analysis.json`` —

* the **decision threshold** of a binary model, chosen on the validation split
  (:mod:`~sagedrop.analysis.threshold`), which the deployed label decoder then applies;
* the **number of boosting rounds** the model kept (early stopping keeps the best round);
* **feature importance by source column**: TreeSHAP contributions (``pred_contribs``) on the test
  sample, summed back from encoded features to the uploaded columns
  (:mod:`~sagedrop.analysis.importance`).

The job's entry point is :mod:`~sagedrop.analysis.job`, shipped as a zip application built from
this package's import closure. Like :mod:`sagedrop.inference`, this package runs on the XGBoost
image's Python 3.10 with numpy and pandas only; tests/unit/analysis/test_import_rules.py checks it.
Nothing is imported here.
"""
