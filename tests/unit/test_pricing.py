"""The run's estimated cost: the bundled dated tables, and usage x price item by item."""

import dataclasses
import json
import re
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagedrop.pricing import LambdaUse, Prices, PriceTable, bundled_prices, estimate_run_cost, lambda_uses


def table(unit: str, prices: dict, as_of: str = "2026-01-01") -> PriceTable:
    return PriceTable("d", "https://example.com", as_of, "not checked", "us-east-1", "USD", unit, prices)


# Round prices so each expected figure below is plain arithmetic.
PRICES = Prices(
    inference=table("instance-hour", {"ml.m5.large": 0.36}),
    training=table("instance-hour", {"ml.m5.xlarge": 3.6}, as_of="2025-06-30"),
    processing=table("instance-hour", {"ml.m5.xlarge": 1.8}),
    serverless_inference=table("GB-second", {"compute": 0.001}),
    step_functions=table("state transition", {"standard": 0.01}),
    lambda_duration=table("GB-second", {"arm64": 0.002, "x86_64": 0.003}),
    lambda_request=0.5,
    hours_per_month=730,
)


def by_what(cost: dict) -> dict:
    return {item["what"]: item for item in cost["items"]}


def test_every_bundled_table_is_dated_sourced_and_priced():
    prices = bundled_prices()
    tables = [prices.inference, prices.training, prices.serverless_inference, prices.step_functions]
    for priced in [*tables, prices.lambda_duration]:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", priced.as_of)
        assert priced.source.startswith("https://aws.amazon.com/")
        assert "re-checked" in priced.verified  # each table says how far it was checked
        assert priced.region == "us-east-1" and priced.currency == "USD"
        assert priced.prices and all(price > 0 for price in priced.prices.values())
    assert prices.step_functions.price("standard") * 1000 == pytest.approx(0.025)
    assert prices.lambda_duration.price("x86_64") == pytest.approx(0.0000166667)
    assert prices.lambda_request > 0
    # the run's defaults are priced
    assert prices.training.price("ml.m5.xlarge") and prices.inference.price("ml.m5.large")


def test_the_inference_table_is_the_document_top_level_the_cleanup_reads():
    raw = json.loads(resources.files("sagedrop").joinpath("data/sagemaker_prices.json").read_text())
    prices = bundled_prices()
    assert dict(prices.inference.prices) == {k: float(v) for k, v in raw["prices"].items()}
    assert prices.hours_per_month == raw["hours_per_month"]
    assert prices.inference.as_dict() == {
        "source": raw["source"],
        "as_of": raw["as_of"],
        "region": raw["region"],
        "currency": raw["currency"],
    }


def test_a_typical_run_costs_each_usage_times_its_price():
    cost = estimate_run_cost(
        training_instance_type="ml.m5.xlarge",
        training_billable_seconds=200,
        training_instance_count=2,
        endpoint_instance_type="ml.m5.large",
        endpoint_seconds=600,
        state_transitions=16,
        lambda_invocations=[LambdaUse(2.0, 512), LambdaUse(10.0, 2048)],
        prices=PRICES,
    )
    items = by_what(cost)
    training = items["Training (ml.m5.xlarge x 2)"]
    assert training["quantity"] == pytest.approx(400 / 3600, abs=1e-6) and training["unit"] == "instance-hour"
    assert training["usd"] == pytest.approx(0.4)  # 400 instance-seconds at $0.001 a second
    assert items["Endpoint (ml.m5.large x 1)"]["usd"] == pytest.approx(0.06)  # 600 s at $0.0001
    assert items["Step Functions state transitions"]["usd"] == pytest.approx(0.16)
    duration = items["Lambda duration (arm64)"]
    assert duration["quantity"] == pytest.approx(2 * 0.5 + 10 * 2.0) and duration["usd"] == pytest.approx(0.042)
    assert items["Lambda requests"]["quantity"] == 2 and items["Lambda requests"]["usd"] == pytest.approx(1.0)
    assert cost["total_usd"] == pytest.approx(0.4 + 0.06 + 0.16 + 0.042 + 1.0)
    assert cost["complete"] is True
    assert cost["prices_as_of"] == "2025-06-30"  # the oldest table used
    assert cost["region"] == "us-east-1"
    assert all(set(item) == {"what", "quantity", "unit", "unit_price_usd", "usd"} for item in cost["items"])
    assert json.loads(json.dumps(cost)) == cost


def test_a_serverless_endpoint_is_billed_by_memory_and_seconds_not_by_instance():
    cost = estimate_run_cost(
        endpoint_instance_type="ml.m5.large", endpoint_seconds=30, serverless_memory_mb=2048, prices=PRICES
    )
    (item,) = cost["items"]
    assert item["what"] == "Serverless endpoint (2048 MB)"
    assert item["quantity"] == pytest.approx(60.0) and item["usd"] == pytest.approx(0.06)


def test_an_instance_type_missing_from_the_table_is_shown_but_not_guessed():
    cost = estimate_run_cost(
        training_instance_type="ml.p5.48xlarge", training_billable_seconds=60, state_transitions=4, prices=PRICES
    )
    training = by_what(cost)["Training (ml.p5.48xlarge x 1)"]
    assert training["unit_price_usd"] is None and training["usd"] is None
    assert cost["complete"] is False
    assert cost["total_usd"] == pytest.approx(0.04)


def test_nothing_used_costs_nothing():
    cost = estimate_run_cost(training_instance_type="ml.m5.xlarge", training_billable_seconds=None, prices=PRICES)
    assert cost["items"] == [] and cost["total_usd"] == 0 and cost["complete"] is True


def test_the_x86_price_is_used_for_x86_functions():
    cost = estimate_run_cost(lambda_invocations=[LambdaUse(1.0, 1024)], lambda_architecture="x86_64", prices=PRICES)
    assert by_what(cost)["Lambda duration (x86_64)"]["usd"] == pytest.approx(0.003)


def test_lambda_uses_count_the_task_states_that_finished():
    steps = [
        {"state": "Prepare the data", "seconds": 1.5},
        {"state": "Wait for training", "seconds": 60.0},
        {"state": "Check training", "seconds": 0.2},
        {"state": "Check training", "seconds": 0.3},
        {"state": "Finish the run", "seconds": None},
    ]
    memory = {"Prepare the data": 3008, "Check training": 512, "Finish the run": 512}
    assert lambda_uses(steps, memory) == [LambdaUse(1.5, 3008), LambdaUse(0.2, 512), LambdaUse(0.3, 512)]


@settings(max_examples=60, deadline=None)
@given(
    seconds=st.integers(1, 100_000),
    transitions=st.integers(0, 10_000),
    invocations=st.lists(st.tuples(st.floats(0, 900), st.sampled_from([128, 512, 3008])), max_size=30),
)
def test_the_total_is_the_sum_of_the_items_and_grows_with_usage(seconds, transitions, invocations):
    uses = [LambdaUse(s, m) for s, m in invocations]
    args = {
        "training_instance_type": "ml.m5.xlarge",
        "endpoint_instance_type": "ml.m5.large",
        "endpoint_seconds": 900,
        "state_transitions": transitions,
        "lambda_invocations": uses,
        "prices": bundled_prices(),
    }
    cost = estimate_run_cost(training_billable_seconds=seconds, **args)
    assert cost["total_usd"] == pytest.approx(sum(item["usd"] for item in cost["items"]), abs=1e-5)
    longer = estimate_run_cost(training_billable_seconds=seconds * 2, **args)
    assert longer["total_usd"] > cost["total_usd"]
    assert all(item["usd"] >= 0 for item in cost["items"])


def test_price_tables_are_immutable_values():
    with pytest.raises(dataclasses.FrozenInstanceError):
        bundled_prices().training.unit = "x"  # type: ignore[misc]


def test_the_model_analysis_is_priced_per_instance_hour_of_processing():
    cost = estimate_run_cost(processing_instance_type="ml.m5.xlarge", processing_seconds=1800, prices=PRICES)
    (item,) = cost["items"]
    assert item["what"] == "Model analysis (ml.m5.xlarge x 1)"
    assert item["quantity"] == 0.5 and item["usd"] == 0.9


def test_every_bundled_table_parses_and_processing_has_the_default_instance():
    from sagedrop.pricing import bundled_prices
    from sagedrop.run_config import RunConfig

    assert bundled_prices().processing.price(RunConfig().training_instance_type) is not None
