"""The code that runs inside the deployed model: raw rows in, labelled predictions out.

Stage 1, :mod:`~sagedrop.inference.featurizer`: a raw request (CSV rows in the upload's column order,
or JSON instances) → the features CSV the algorithm container reads. Stage 3,
:mod:`~sagedrop.inference.decoder`: the algorithm's answer → original labels with probabilities.
:mod:`~sagedrop.inference.serving` holds the entry points of the SageMaker serving containers,
:mod:`~sagedrop.inference.packaging` builds the model tarball that carries them.

This package also runs inside the scikit-learn and XGBoost serving images, which have numpy and
pandas but none of the Lambda layer's other dependencies (no boto3, pydantic, Powertools), and the
XGBoost image runs Python 3.10. So its import closure holds only the standard library, numpy,
pandas, ``sagedrop.errors`` and ``sagedrop.dataset``'s reading, encoding and writing modules; the
host's own ``xgboost`` (single mode) and ``sagemaker_containers`` (error responses) are imported
inside the functions that need them. tests/unit/inference/test_import_rules.py enforces this.
Nothing is imported here, so ``import sagedrop.inference.x`` loads only what x needs.
"""
