"""The evaluation's constants; problem types are sagedrop.problem_types' (re-exported for brevity)."""

from sagedrop.problem_types import PROBLEM_TYPES, ProblemType

BINARY = ProblemType.BINARY
MULTICLASS = ProblemType.MULTICLASS
REGRESSION = ProblemType.REGRESSION
__all__ = ["BINARY", "BINARY_THRESHOLD", "DECIMALS", "MULTICLASS", "PROBLEM_TYPES", "REGRESSION"]

#: A binary prediction is class 1 when its probability is *above* this — the container's own
#: ``predicted_label`` rule (``int(p > 0.5)``) and the tutorial's ``np.round`` agree at 0.5 exactly.
BINARY_THRESHOLD = 0.5
#: Decimals kept for every metric in evaluation.json.
DECIMALS = 4
