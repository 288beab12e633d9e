"""The preparation of an upload, wherever it runs: the preprocessing Lambda or a SageMaker Processing job.

``core`` writes what a run's later steps read (the split part files, the raw test split,
``schema.json``, ``data_report.json``) through a store: S3 under
``runs/<run-id>/`` in the Lambda, a local folder that Processing uploads there in the job. ``job`` is
the Processing job's entry point. Both run in the scikit-learn image, so this package's import
closure is numpy, pandas and the standard library (tests/unit/preparation/test_import_rules.py).
"""
