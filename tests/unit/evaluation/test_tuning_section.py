"""The report's tuning section: every trial, best first, escaped, and absent for an untuned run."""

from __future__ import annotations

import re

from sagedrop.evaluation.tuning_section import tuning_section

from . import samples


def test_trials_are_listed_best_first_with_the_deployed_one_marked():
    document = samples.trials()
    section = tuning_section(document)
    objectives = [float(row["objective"]) for row in section["rows"] if row["objective"] != "—"]
    assert objectives == sorted(objectives, reverse=True)  # validation:auc: higher is better
    assert section["rows"][0]["best"] and section["rows"][0]["job"] == document["best_training_job"]
    assert section["rows"][-1]["status"] == "Failed" and section["rows"][-1]["objective"] == "—"
    assert section["count"] == 6 and section["scored"] == 5 and section["direction"] == "higher is better"


def test_a_minimised_objective_lists_the_smallest_first():
    document = {**samples.trials(), "objective_metric": "validation:rmse", "objective_type": "Minimize"}
    objectives = [float(row["objective"]) for row in tuning_section(document)["rows"] if row["objective"] != "—"]
    assert objectives == sorted(objectives)


def test_an_untuned_run_has_no_section():
    assert tuning_section(None) is None
    assert tuning_section({"trials": []}) is None


def test_the_page_shows_the_trials_and_escapes_what_they_say():
    page = samples.render(samples.BINARY)
    table = re.search(r'<table class="wide" data-section="tuning">.*?</table>', page, re.S).group(0)
    assert table.count("<tr") == 1 + 6  # header + one row per trial
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in table
    assert 'id="chart-tuning-trials"' in page
    best = samples.trials()["trials"][0]["hyperparameters"]
    assert f"eta {best['eta']} · max_depth {best['max_depth']}" in table  # the searched values, not a method
    assert "How the model was tuned" not in samples.render(samples.MULTICLASS)
