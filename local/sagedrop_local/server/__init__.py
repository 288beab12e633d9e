"""``sagedrop local up``: the local cloud served over HTTP to real AWS clients.

up.py runs it; app.py routes each request (SageMaker, SageMaker runtime and Lambda Invoke
in-process through wire.py, everything else to moto through moto_app.py); uploads.py carries
S3's "Object Created" events to the template's EventBridge rule; schedule.py keeps the template's
schedules; discovery.py and client.py let ``local run`` and ``local cleanup`` use a running server.
"""
