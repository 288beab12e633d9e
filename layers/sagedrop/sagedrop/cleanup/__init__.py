"""Nightly cleanup: delete idle SageMaker endpoints (and what hangs off them) and stale log groups.

Entry point: ``run_cleanup(clients, settings, now, dry_run) -> CleanupReport``. The rules are pure
functions in ``rules.py``; boto3 lives in the ``sagedrop.aws`` adapters. See docs/cleanup.md.
"""

from sagedrop.cleanup.clients import CleanupClients
from sagedrop.cleanup.report import CleanupReport
from sagedrop.cleanup.service import run_cleanup
from sagedrop.cleanup.settings import CleanupSettings

__all__ = ["CleanupClients", "CleanupReport", "CleanupSettings", "run_cleanup"]
