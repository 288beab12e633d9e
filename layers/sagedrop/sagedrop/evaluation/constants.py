"""Problem type names, as they appear in the run configuration, schema.json and evaluation.json."""

BINARY = "binary_classification"
MULTICLASS = "multiclass_classification"
REGRESSION = "regression"
PROBLEM_TYPES = (BINARY, MULTICLASS, REGRESSION)

#: A binary prediction is class 1 when its probability is *above* this — the container's own
#: ``predicted_label`` rule (``int(p > 0.5)``) and the tutorial's ``np.round`` agree at 0.5 exactly.
BINARY_THRESHOLD = 0.5
#: Decimals kept for every metric in evaluation.json.
DECIMALS = 4
