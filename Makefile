# sagedrop — the two commands a new user needs:
#   make demo   set up .venv and run the whole pipeline locally on the bundled bank marketing data
#   make test   set up everything the tests need and run them
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# aws-sam-cli and the SageMaker SDK pin versions that clash with ours: each gets its own venv.
SAM_VENV := .venv-sam
SDK_VENV := .venv-sdk
# checkov pins its own boto3, networkx and friends: its own venv as well. It runs with
# --skip-download (no Prisma Cloud look-ups), so it needs no network and fails on any failed check.
CHECKOV_VENV := .venv-checkov
# pyarrow, for the benchmark's ceiling only: where pyarrow is importable, pandas changes its default
# string type, so the project's venv (like the Lambda layer) must not have it.
ARROW_VENV := .venv-arrow

.PHONY: demo test test-fast bench lint validate setup clean

demo: $(VENV)/.ready
	$(BIN)/sagedrop local run data/bank-full.csv.gz --label y --out out/demo --state-dir out/local-state

test: $(VENV)/.ready $(SAM_VENV)/.ready $(SDK_VENV)/.ready $(CHECKOV_VENV)/.ready
	$(BIN)/python -m pytest -n auto --dist loadgroup

# Without the packaging test (it downloads the Lambda platform's wheels) and the slow end-to-end runs.
test-fast: $(VENV)/.ready
	$(BIN)/python -m pytest -n auto --dist loadgroup -m "not packaging and not e2e"

bench: $(VENV)/.ready $(ARROW_VENV)/.ready
	$(BIN)/python benchmarks/pipeline_bench.py
	$(BIN)/python benchmarks/cleanup_bench.py
	$(BIN)/python benchmarks/model_quality.py
	$(BIN)/python benchmarks/preprocess_bench.py --arrow-python $(ARROW_VENV)/bin/python

lint: $(VENV)/.ready
	$(BIN)/ruff check layers local functions tests benchmarks scripts

validate: $(VENV)/.ready $(SAM_VENV)/.ready $(CHECKOV_VENV)/.ready
	$(BIN)/cfn-lint template.yaml
	AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint --template template.yaml
	$(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --quiet --compact --skip-download

setup: $(VENV)/.ready $(SAM_VENV)/.ready $(SDK_VENV)/.ready $(CHECKOV_VENV)/.ready

$(VENV)/.ready: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

$(SAM_VENV)/.ready:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet "aws-sam-cli==1.170.0"
	touch $@

$(SDK_VENV)/.ready:
	$(PYTHON) -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/pip install --quiet --upgrade pip
	$(SDK_VENV)/bin/pip install --quiet "sagemaker-core==2.27.0"
	touch $@

$(CHECKOV_VENV)/.ready:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet "checkov==3.3.30"
	touch $@

$(ARROW_VENV)/.ready:
	$(PYTHON) -m venv $(ARROW_VENV)
	$(ARROW_VENV)/bin/pip install --quiet --upgrade pip
	$(ARROW_VENV)/bin/pip install --quiet "pyarrow==26.0.1"
	touch $@

clean:
	rm -rf out .pytest_cache .hypothesis
