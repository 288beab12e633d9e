"""Errors injected into the local SageMaker, to rehearse the pipeline's retry and failure paths.

Set ``SAGEDROP_LOCAL_FAULTS`` before the local cloud starts (``sagedrop local run`` reads it too)::

    SAGEDROP_LOCAL_FAULTS="CreateTrainingJob:ThrottlingException:1"

Each comma-separated entry ``OPERATION:ERROR[:COUNT]`` makes the next COUNT calls (default 1) of
that API operation answer ERROR, without doing the work, as SageMaker does when it throttles.
Entries for one operation are used in the order given. ERROR is one of ``ERRORS``. The value is
parsed once, when ``LocalSageMaker`` is created; a malformed value is rejected then, by name.
Each ``LocalSageMaker`` (so each process) answers the faults once.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .errors import SageMakerApiError

ENV_VAR = "SAGEDROP_LOCAL_FAULTS"
_INJECTED = f"(injected by {ENV_VAR})"
#: error code -> (HTTP status, message), as SageMaker answers them.
ERRORS: dict[str, tuple[int, str]] = {
    "ThrottlingException": (400, f"Rate exceeded {_INJECTED}"),
    "ResourceLimitExceeded": (400, f"The account-level service limit was exceeded {_INJECTED}"),
    "InternalFailure": (500, f"An internal error occurred {_INJECTED}"),
    "ServiceUnavailable": (503, f"The service is unavailable {_INJECTED}"),
}


class FaultSpecError(ValueError):
    """The fault specification cannot be read; the message names the entry and what is wrong."""


@dataclass(frozen=True)
class Fault:
    """Answer ``error`` to the next ``count`` calls of ``operation``."""

    operation: str
    error: str
    count: int = 1

    def exception(self) -> SageMakerApiError:
        status, message = ERRORS[self.error]
        return SageMakerApiError(self.error, message, status_code=status)


def _parse_entry(entry: str) -> Fault:
    parts = [part.strip() for part in entry.split(":")]
    if len(parts) not in (2, 3) or not all(parts):
        raise FaultSpecError(f"{ENV_VAR} entry {entry!r} is not OPERATION:ERROR[:COUNT]")
    operation, error = parts[0], parts[1]
    if error not in ERRORS:
        raise FaultSpecError(f"{ENV_VAR} entry {entry!r}: error {error!r} is not one of {', '.join(ERRORS)}")
    count = 1
    if len(parts) == 3:
        if not parts[2].isdigit() or int(parts[2]) < 1:
            raise FaultSpecError(f"{ENV_VAR} entry {entry!r}: COUNT {parts[2]!r} is not a positive whole number")
        count = int(parts[2])
    return Fault(operation, error, count)


class FaultPlan:
    """The faults still to answer; thread safe (the pipeline's calls come from several threads)."""

    def __init__(self, faults: Iterable[Fault] = ()):
        self.faults = tuple(faults)
        self._remaining = [fault.count for fault in self.faults]
        self._lock = threading.Lock()
        self.injected: list[Fault] = []  # what was answered, in order

    @classmethod
    def parse(cls, text: str | None) -> FaultPlan:
        """``"Op:Error[:N],Op:Error[:N]"``; empty or None means no faults."""
        entries = [entry.strip() for entry in (text or "").split(",") if entry.strip()]
        return cls(_parse_entry(entry) for entry in entries)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> FaultPlan:
        return cls.parse(environ.get(ENV_VAR))

    def require_known(self, operations: Iterable[str]) -> None:
        """Reject a fault for an operation the local SageMaker does not answer (a typo would never fire)."""
        known = set(operations)
        for fault in self.faults:
            if fault.operation not in known:
                raise FaultSpecError(
                    f"{ENV_VAR}: {fault.operation!r} is not an operation of the local SageMaker "
                    f"({', '.join(sorted(known))})"
                )

    def take(self, operation: str) -> Fault | None:
        """The fault to answer to this call of ``operation``, counting it; None when there is none."""
        with self._lock:
            for index, fault in enumerate(self.faults):
                if fault.operation == operation and self._remaining[index] > 0:
                    self._remaining[index] -= 1
                    self.injected.append(fault)
                    return fault
        return None
