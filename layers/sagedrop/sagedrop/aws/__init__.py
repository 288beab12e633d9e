"""Small adapters around boto3 clients. Each receives its client, so tests hand in moto or a Stubber.

- ``clients``: the one client factory; the caller names its ``RetryPolicy`` (who else retries).
- ``errors``: the one reader of botocore errors (not found, already exists, throttling) and the
  translation into the domain errors the state machine retries by name.
- ``sagemaker``: training and hosting (create, describe, stop, delete) for the pipeline and cleanup.
- ``sagemaker_inventory``: listings, tags and descriptions of hosting resources as plain facts.
- ``cloudwatch`` (endpoint invocations), ``logs``, ``s3``, ``notifications`` (SNS),
  ``stepfunctions``, ``runtime`` (InvokeEndpoint).

This package imports nothing of sagedrop but ``errors`` and ``limits`` (tests/unit/aws/test_boundaries.py).
"""
