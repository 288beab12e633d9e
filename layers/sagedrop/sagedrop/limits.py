"""Service limits sagedrop respects, declared once (see the AWS documentation of each service)."""

#: InvokeEndpoint's largest request body (real-time endpoints).
INVOKE_ENDPOINT_MAX_BYTES = 6_291_456
#: Serverless endpoints take at most 4 MB per request.
SERVERLESS_INVOKE_MAX_BYTES = 4 * 1024 * 1024
#: What the evaluation sends per request: under the limits above, with room for the container's framing.
EVALUATION_BATCH_BYTES = 5_000_000
SERVERLESS_EVALUATION_BATCH_BYTES = 3_500_000
#: What one container of a serial inference pipeline may hand the next (the local SageMaker enforces it):
#: raw rows grow when featurized (one-hot columns), so requests are also capped in rows.
PIPELINE_STAGE_MAX_BYTES = 5 * 1024 * 1024
#: The longest text of one feature value in the features CSV (a float32 in shortest form, its comma).
FEATURE_VALUE_MAX_CHARS = 16
#: Rows per request when the feature count is not known to the caller (sagedrop predict).
DEFAULT_ROWS_PER_REQUEST = 1_000
#: Step Functions: the largest input or output of one state.
STATE_PAYLOAD_MAX_BYTES = 262_144
#: A folder's sagedrop.json (or ``--config``). The effective configuration travels in every state's
#: input; a few hundred bytes is typical, and this bound keeps the state far below the limit above
#: even when every character of a value is escaped six-fold (\uXXXX) on its way into it.
RUN_CONFIG_MAX_BYTES = 16_384
#: The data report scores each feature column against the label on at most this many training rows
#: (a random sample, seeded by the run's seed; the report says when it sampled): bounded preprocessing work.
DATA_REPORT_SAMPLE_ROWS = 20_000
#: SageMaker resource names (training job, model, endpoint config, endpoint).
SAGEMAKER_NAME_MAX_CHARS = 63
#: Step Functions execution names.
EXECUTION_NAME_MAX_CHARS = 80

#: The largest upload a run accepts by default (stack parameter MaxUploadBytes): larger ones are refused from
#: the S3 event's size, before anything is read.
MAX_UPLOAD_BYTES = 2 * 1024**3
#: Above this size of raw test split (bytes) the evaluation scores the test rows with a Batch Transform
#: job of the deployed model instead of InvokeEndpoint from a Lambda (stack parameter
#: EvaluationTransformBytes). The Lambda route is bound by Lambda's 15 minutes and the endpoint's
#: throughput: 100 MiB is about a million bank-like rows (a 700 MB upload at the default 15 % test split),
#: minutes of requests for one ml.m5.large; a transform job has no time limit of ours but costs a job's
#: start-up. The evaluation's peak RSS either way (benchmarks/preprocess_bench.py, stand-in endpoint):
#: 154-167 MB by the endpoint for 100-300 MB uploads, 379 MB by the transform for a 2 GB upload.
EVALUATION_TRANSFORM_BYTES = 100 * 1024**2
#: Test rows the model analysis explains (TreeSHAP cost grows with rows × trees × depth).
ANALYSIS_SAMPLE_ROWS = 2_000
#: Test rows the permutation importance re-scores once per column (a model the analysis cannot open).
PERMUTATION_SAMPLE_ROWS = 1_000
#: The model analysis job's MaxRuntimeInSeconds: it predicts the validation split and a sample once.
ANALYSIS_MAX_RUNTIME_SECONDS = 3_600
#: A column name (the header's fields). The label's name travels in every state of a run (and one
#: over this is almost always a data value read as a name); a survey question fits.
COLUMN_NAME_MAX_CHARS = 1_024

# --- streaming preprocessing (sagedrop.dataset.streaming) ----------------------------------------
#: UTF-8 text (bytes) the streaming preparation parses at once (whole records): its memory is a few times this.
STREAM_CHUNK_BYTES = 8 * 1024 * 1024
#: Each split is written as part files of at most this many bytes (``part-00000.csv``, …), ready for
#: ShardedByS3Key training on several instances; a single record longer than this is a part of its own.
SPLIT_PART_MAX_BYTES = 128 * 1024 * 1024
#: Per column, the first pass counts at most this many distinct values exactly; past it the rarest
#: counts are pruned (the one-hot top MAX_CATEGORIES stay exact for all but pathological columns)
#: and the distinct count is estimated (k-minimum-values sketch).
STREAM_TRACKED_VALUES = 20_000
#: The data report of a streamed upload is built from a uniform sample of at most this many labelled
#: rows and at most STREAM_SAMPLE_CELLS fields (a wide file samples fewer rows); counts it can take
#: from the stream (rows, missing, distinct, label balance, identifiers) are exact or estimated, and
#: the report says when it sampled.
STREAM_SAMPLE_ROWS = 50_000
STREAM_SAMPLE_CELLS = 2_000_000
#: Pass 1 keeps its reading of every chunk on local disk for pass 2 (``sagedrop.dataset.spill``),
#: in at most this share of the free space where it writes and at most SPILL_MAX_BYTES; past that,
#: pass 2 parses the upload again. A quarter leaves the Processing volume (three times the upload
#: and PREPARATION_VOLUME_MARGIN_GB) room for the splits, and the preprocessing Lambda's 2 GB of
#: ephemeral storage gives about 500 MB: bank-like CSV spills about a quarter of its size.
SPILL_DISK_SHARE = 0.25
SPILL_MAX_BYTES = 16 * 1024**3
#: Uploads up to this size are preprocessed by the Lambda (3,008 MB, 15 minutes; memory is no limit:
#: the streamed preparation peaked at 200-230 MB from 100 MB to 2 GB of CSV). Its throughput, both
#: passes together, was 18-25 MB/s of bank-like CSV on a shared 2-core machine
#: (benchmarks/preprocess_bench.py), so 1.5 GB takes 1-1.5 minutes there: the rest of Lambda's 15
#: minutes is the margin for a slower CPU share and S3 reads. Larger uploads are prepared by a SageMaker
#: Processing job (the default of the stack parameter LambdaPrepareMaxBytes, which routes them).
LAMBDA_PREPROCESS_MAX_BYTES = 1_500 * 1024 * 1024
#: The preparation job's instance: one process reads the upload as a stream (it peaked under 0.5 GB),
#: so two vCPUs and 8 GiB are plenty, whatever instance the run trains on.
PREPARATION_INSTANCE_TYPE = "ml.m5.large"
#: The preparation job's MaxRuntimeInSeconds: at the 3.5 MB/s above, 12 GB of CSV.
PREPARATION_MAX_RUNTIME_SECONDS = 3_600
#: Its disk (VolumeSizeInGB) holds the upload, its splits (about as large) and the raw test split:
#: three times the upload, and this much besides.
PREPARATION_VOLUME_MARGIN_GB = 10
