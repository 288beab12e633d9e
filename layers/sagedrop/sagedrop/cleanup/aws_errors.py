"""Reading botocore errors the way cleanup needs: "already gone" is success, the rest is a failure."""

from __future__ import annotations

from botocore.exceptions import ClientError

# SageMaker answers ValidationException "Could not find ..." for a missing endpoint, config or model;
# CloudWatch Logs answers ResourceNotFoundException.
_NOT_FOUND_CODES = {"ResourceNotFound", "ResourceNotFoundException", "NotFound", "NoSuchEntity"}


def error_code(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code", "")
    return ""


def error_message(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Message", "") or str(error)
    return str(error)


def is_not_found(error: BaseException) -> bool:
    code = error_code(error)
    if code in _NOT_FOUND_CODES:
        return True
    message = error_message(error).lower()
    return code == "ValidationException" and ("could not find" in message or "does not exist" in message)


def describe(error: BaseException) -> str:
    """Short text for the report: ``Code: message``."""
    code = error_code(error)
    return f"{code}: {error_message(error)}" if code else f"{type(error).__name__}: {error}"
