"""Named domain errors.

Handlers raise these instead of returning error dicts: a Lambda task surfaces the exception's
*class name* as the Step Functions error name, so the state machine's Retry and Catch clauses
match on these names. Renaming a class is a breaking change for statemachine/pipeline.asl.json.
"""


class SagedropError(Exception):
    """Base class of every error this project raises on purpose."""


# --- bad input: never retried, the run fails with the message ---------------------------------
class InvalidEventError(SagedropError):
    """The Lambda received an event it cannot read (wrong shape, missing field)."""


class InvalidConfigError(SagedropError):
    """A run configuration (stack defaults or a folder's sagedrop.json) is invalid; names the key."""


class InvalidCsvError(SagedropError):
    """The uploaded file is not a usable CSV (empty, ragged, undecodable, too few rows)."""


class LabelNotFoundError(SagedropError):
    """The configured label column is not in the CSV."""


class UnusableLabelError(SagedropError):
    """The label column exists but cannot be learned (one class only, empty, mixed types)."""


class DataLeakageError(SagedropError):
    """The data gate stopped the run: a feature column alone predicts the label almost perfectly, or
    identifies the rows; the message names each column, the check and its score, and how to acknowledge it.

    ``report`` is the data report the gate decided on, for the caller to write before the run fails.
    """

    def __init__(self, message: str, report: dict | None = None) -> None:
        super().__init__(message)
        self.report = report


class FeatureCountMismatchError(SagedropError):
    """Rows sent for inference do not have the feature count the model was trained with."""


class EndpointError(SagedropError):
    """The endpoint answered an error; ``status`` is the container's HTTP status when known."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class EndpointRejected(SagedropError):
    """A request of rows was rejected by the endpoint; the message names the rows of the input file."""


class InvalidPredictionError(SagedropError):
    """The endpoint answered something that is not the predictions we asked for."""


class InvalidRequestError(SagedropError):
    """An inference request the endpoint cannot read; the message names the row (1-based) and column.

    ``status`` is the HTTP status the serving container answers with: 400, 415 for a content type
    it does not read, 406 for an Accept it cannot answer.
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# --- raised by the state machine itself ---------------------------------------------------------
# The wait loops' Choice states route these outcomes to Pass states that set ``$.failure.Error`` to
# the class name (statemachine/pipeline.asl.json); no Python code raises them, but declaring them
# here keeps every error name a run can end with in one place (tests/unit/statemachine checks it).
class TrainingFailed(SagedropError):
    """The training job ended Failed or Stopped; the cause is SageMaker's FailureReason."""


class TrainingTimedOut(SagedropError):
    """The training job was still running after the wait loop's maximum number of polls."""


class UploadTooLarge(SagedropError):
    """The upload is larger than the stack's MaxUploadBytes; refused from the event's size, unread."""


class PreparationJobFailed(SagedropError):
    """The preparation job of a large upload ended Failed or Stopped; the cause is SageMaker's FailureReason."""


class PreparationJobTimedOut(SagedropError):
    """The preparation job was still running after the wait loop's maximum number of polls."""


class TuningFailed(SagedropError):
    """The tuning job ended Failed or Stopped; the cause is SageMaker's FailureReason."""


class TuningTimedOut(SagedropError):
    """The tuning job was still running after the wait loop's maximum number of polls."""


class AnalysisFailed(SagedropError):
    """The model analysis (a Processing job) ended Failed or Stopped; the cause is SageMaker's FailureReason."""


class AnalysisTimedOut(SagedropError):
    """The model analysis was still running after the wait loop's maximum number of polls."""


class EndpointFailed(SagedropError):
    """The endpoint ended Failed; the cause is SageMaker's FailureReason."""


class EndpointTimedOut(SagedropError):
    """The endpoint was still not in service after the wait loop's maximum number of polls."""


class EvaluationTransformFailed(SagedropError):
    """The evaluation's Batch Transform job ended Failed or Stopped; the cause is SageMaker's FailureReason."""


class EvaluationTransformTimedOut(SagedropError):
    """The evaluation's Batch Transform job was still running after the wait loop's maximum number of polls."""


class UnexpectedStatus(SagedropError):
    """SageMaker reported a status the wait loop does not know; the cause is the status."""


# --- transient: the state machine retries these with backoff and jitter -----------------------
class SageMakerThrottled(SagedropError):
    """SageMaker answered ThrottlingException: retry later."""


class SageMakerLimitExceeded(SagedropError):
    """SageMaker answered ResourceLimitExceeded (instance quota, concurrent jobs): retry later."""


class EndpointConfigNotReady(SagedropError):
    """CreateEndpoint could not yet see the endpoint config just created (eventual consistency)."""
