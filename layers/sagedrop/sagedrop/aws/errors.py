"""Reading botocore errors: the one place that knows which codes and messages mean what.

Services disagree on how they say "missing" or "slow down": SageMaker answers ValidationException
"Could not find endpoint ..." for a missing endpoint, config or model; CloudWatch Logs answers
ResourceNotFoundException; S3 NoSuchKey (or a bare 404 on HEAD). Every adapter in ``sagedrop.aws``
and the cleanup ask these functions instead of comparing codes themselves.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from sagedrop.errors import SageMakerLimitExceeded, SageMakerThrottled

# Codes that mean "no such resource" whatever the message says (Logs, SageMaker's rarer form, S3, IAM).
_NOT_FOUND_CODES = frozenset(
    {"ResourceNotFound", "ResourceNotFoundException", "NotFound", "NoSuchKey", "404", "NoSuchEntity"}
)
# SageMaker (and some older APIs) answer ValidationException with one of these in the message.
_NOT_FOUND_PHRASES = ("could not find", "does not exist", "not found")
# Codes that mean "a resource with that name exists" (Logs, Step Functions); SageMaker says it
# with ValidationException "Cannot create already existing <kind> ...".
_ALREADY_EXISTS_CODES = frozenset({"ResourceAlreadyExistsException", "ExecutionAlreadyExists"})
_ALREADY_EXISTS_PHRASES = ("already existing", "already exists")
# The throttling codes AWS services answer (SageMaker: ThrottlingException; S3: SlowDown).
_THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
    }
)
# A quota, not a rate: concurrent training jobs, instances of a type. Waiting can help, retrying at once cannot.
_LIMIT_EXCEEDED_CODES = frozenset({"ResourceLimitExceeded"})


def error_code(error: BaseException) -> str:
    """The service's error code (``ThrottlingException``), or "" for anything but a ClientError."""
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code", "") or ""
    return ""


def error_message(error: BaseException) -> str:
    """The service's message; "" when a ClientError carries none; ``str(error)`` for other exceptions."""
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Message", "") or ""
    return str(error)


def _validation_says(error: BaseException, phrases: tuple[str, ...]) -> bool:
    message = error_message(error).lower()
    return error_code(error) == "ValidationException" and any(phrase in message for phrase in phrases)


def is_not_found(error: BaseException) -> bool:
    """The resource does not exist (any more): for a delete, "already gone"; for a describe, "none"."""
    return error_code(error) in _NOT_FOUND_CODES or _validation_says(error, _NOT_FOUND_PHRASES)


def is_already_exists(error: BaseException) -> bool:
    """A resource (or execution) with that name exists already."""
    return error_code(error) in _ALREADY_EXISTS_CODES or _validation_says(error, _ALREADY_EXISTS_PHRASES)


def is_throttling(error: BaseException) -> bool:
    return error_code(error) in _THROTTLING_CODES


def is_limit_exceeded(error: BaseException) -> bool:
    return error_code(error) in _LIMIT_EXCEEDED_CODES


def describe(error: BaseException) -> str:
    """Short text for a report or log line: ``Code: message`` (``TypeName: text`` for other errors)."""
    code = error_code(error)
    if code:
        return f"{code}: {error_message(error) or error}"
    return f"{type(error).__name__}: {error}"


def translate(error: ClientError) -> Exception:
    """The named domain error a state machine retries by name, or ``error`` itself.

    A Lambda task surfaces the exception's class name as the Step Functions error name, so
    throttling becomes SageMakerThrottled and quota errors SageMakerLimitExceeded (both retried
    with backoff by the ASL); everything else stays the ClientError it was.
    """
    if is_throttling(error):
        return SageMakerThrottled(error_message(error) or error_code(error))
    if is_limit_exceeded(error):
        return SageMakerLimitExceeded(error_message(error) or error_code(error))
    return error
