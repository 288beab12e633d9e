"""The estimated cost of a finished run, from its record and the bundled price tables."""

from datetime import UTC, datetime, timedelta

import pytest

from sagedrop.errors import InvalidConfigError
from sagedrop.pipeline.costing import endpoint_seconds, lambda_memory_from_environ, run_cost
from sagedrop.pricing import bundled_prices
from sagedrop.run_config import RunConfig

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def visit(state: str, start: float, seconds: float) -> dict:
    return {"state": state, "started_at": (T0 + timedelta(seconds=start)).isoformat(), "seconds": seconds}


RECORD = {
    "training": {"billable_seconds": 120},
    "analysis": {"billable_seconds": 90},
    "steps": [
        visit("Prepare the data", 0, 10),
        visit("Start training", 10, 1),
        visit("Deploy the model", 300, 2),
        visit("Evaluate the model", 700, 20),
        visit("Finish the run", 720, 3),
    ],
}
MEMORY = {"Prepare the data": 3008, "Start training": 512, "Deploy the model": 512, "Evaluate the model": 2048}


def items_by_what(cost: dict) -> dict:
    return {item["what"].split(" (")[0]: item for item in cost["items"]}


def test_each_billable_part_is_priced_from_its_table():
    config = RunConfig()
    prices = bundled_prices()
    cost = run_cost(RECORD, config, finished_at=T0 + timedelta(seconds=723), lambda_memory_mb=MEMORY)
    items = items_by_what(cost)
    assert items["Training"]["usd"] == pytest.approx(
        120 / 3600 * prices.training.price(config.training_instance_type), abs=1e-6
    )
    assert items["Model analysis"]["usd"] == pytest.approx(
        90 / 3600 * prices.processing.price(config.training_instance_type), abs=1e-6
    )
    # the endpoint is up from the start of "Deploy the model" until the run finished
    assert items["Endpoint"]["quantity"] == pytest.approx(423 / 3600, abs=1e-6)
    assert items["Step Functions state transitions"]["quantity"] == len(RECORD["steps"])
    assert cost["total_usd"] == pytest.approx(sum(item["usd"] for item in cost["items"]), abs=1e-5)
    assert cost["complete"] is True


def test_a_serverless_endpoint_is_billed_for_the_evaluation_at_most():
    config = RunConfig.model_validate({"serverless": {"memory_size_mb": 2048}})
    cost = run_cost(RECORD, config, finished_at=T0 + timedelta(seconds=723), lambda_memory_mb={})
    serverless = items_by_what(cost)["Serverless endpoint"]
    assert serverless["quantity"] == pytest.approx(2.0 * 20)  # GB x seconds of "Evaluate the model"


def test_a_run_that_never_deployed_has_no_endpoint_item():
    assert endpoint_seconds([visit("Prepare the data", 0, 1)], T0) is None


def test_the_memory_map_comes_from_the_environment_and_a_bad_one_is_named():
    assert lambda_memory_from_environ({"LAMBDA_MEMORY_MB_BY_STATE": '{"Finish the run": 512}'}) == {
        "Finish the run": 512
    }
    assert lambda_memory_from_environ({}) == {}
    for bad in ("[1]", '{"a": -1}', "{not json"):
        with pytest.raises(InvalidConfigError, match="LAMBDA_MEMORY_MB_BY_STATE"):
            lambda_memory_from_environ({"LAMBDA_MEMORY_MB_BY_STATE": bad})


def test_a_tuned_run_pays_for_every_trial():
    config = RunConfig()
    single = items_by_what(run_cost(RECORD, config, finished_at=T0, lambda_memory_mb={}))["Training"]
    tuned = items_by_what(run_cost(RECORD, config, finished_at=T0, lambda_memory_mb={}, trial_seconds=480))["Training"]
    assert tuned["quantity"] == pytest.approx(480 / 3600, abs=1e-6)
    assert single["quantity"] == pytest.approx(120 / 3600, abs=1e-6)


def test_a_large_uploads_preparation_job_is_priced_on_its_own_instance():
    record = {**RECORD, "preparation": {"job_name": "p", "status": "Completed", "billable_seconds": 1800}}
    cost = run_cost(record, RunConfig(), finished_at=T0 + timedelta(seconds=723), lambda_memory_mb=MEMORY)
    item = items_by_what(cost)["Data preparation"]
    assert item["what"] == "Data preparation (ml.m5.large x 1)"
    assert item["usd"] == pytest.approx(0.5 * bundled_prices().processing.price("ml.m5.large"), abs=1e-6)
    assert "Data preparation" not in items_by_what(
        run_cost(RECORD, RunConfig(), finished_at=T0 + timedelta(seconds=723), lambda_memory_mb=MEMORY)
    )
