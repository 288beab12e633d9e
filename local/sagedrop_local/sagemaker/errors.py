"""Errors shaped like the ones the SageMaker APIs return.

Raising one of these inside an operation makes the botocore bridge answer with HTTP 400 and the
``{"Error": {"Code", "Message"}}`` body botocore turns into its normal ``ClientError`` subclass.
"""

from __future__ import annotations


class SageMakerApiError(Exception):
    """An API error with the code, message and HTTP status SageMaker would send."""

    def __init__(self, code: str, message: str, status_code: int = 400, extra: dict | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status_code = status_code
        # Additional top-level fields some errors carry (ModelError's OriginalStatusCode, ...).
        self.extra = extra or {}


def validation_exception(message: str) -> SageMakerApiError:
    """The control plane's catch-all client error (not modelled in botocore: plain ClientError)."""
    return SageMakerApiError("ValidationException", message)


def could_not_find(kind: str, arn: str) -> SageMakerApiError:
    """'Could not find endpoint "arn:..."' — what Describe/Delete say about a missing resource."""
    return validation_exception(f'Could not find {kind} "{arn}".')


def already_exists(kind: str, arn: str) -> SageMakerApiError:
    """What Create* says when the name is taken."""
    return validation_exception(f'Cannot create already existing {kind} "{arn}".')


def runtime_validation_error(message: str) -> SageMakerApiError:
    """sagemaker-runtime's client error (modelled in botocore as ``ValidationError``)."""
    return SageMakerApiError("ValidationError", message)
