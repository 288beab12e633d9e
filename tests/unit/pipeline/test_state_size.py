"""The run state stays far below Step Functions' 256 KiB, whatever a folder's sagedrop.json says.

Beyond the limit a state ends its execution with States.DataLimitExceeded, which no Catch sees. The
effective configuration travels in every state's input, so a sagedrop.json larger than
RUN_CONFIG_MAX_BYTES is refused at preparation (a named InvalidConfigError, the run's ordinary
failure path), and one within it cannot push the state to the limit.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagedrop.errors import InvalidConfigError
from sagedrop.limits import RUN_CONFIG_MAX_BYTES, STATE_PAYLOAD_MAX_BYTES
from sagedrop.pipeline.state import FailureInput, parse_state
from sagedrop.run_config import parse_override, resolve_run_config

from .conftest import make_dataset, make_state

SOURCE = "incoming/bank/sagedrop.json"


def padded(label: str, size: int) -> bytes:
    """A valid sagedrop.json of exactly ``size`` bytes: the label, then spaces."""
    text = json.dumps({"label": label}, ensure_ascii=False).encode()
    assert len(text) <= size
    return text[:-1] + b" " * (size - len(text)) + b"}"


def test_a_300_kb_config_is_refused_by_name_with_the_limit():
    document = json.dumps({"label": "y", "notes": "x" * 300_000})

    with pytest.raises(InvalidConfigError) as caught:
        parse_override(document.encode(), SOURCE)

    message = str(caught.value)
    assert message.startswith(f"{SOURCE}: 300,")
    assert f"at most {RUN_CONFIG_MAX_BYTES:,} bytes" in message and "256 KiB" in message


@pytest.mark.parametrize("kind", [bytes, str])
def test_the_limit_counts_bytes_and_is_inclusive(kind):
    at_limit = padded("é", RUN_CONFIG_MAX_BYTES)
    one_over = padded("é", RUN_CONFIG_MAX_BYTES + 1)
    convert = (lambda b: b) if kind is bytes else (lambda b: b.decode())

    assert parse_override(convert(at_limit), SOURCE) == {"label": "é"}
    with pytest.raises(InvalidConfigError, match=f"{RUN_CONFIG_MAX_BYTES + 1:,} bytes"):
        parse_override(convert(one_over), SOURCE)


# Labels of the most expensive characters: multi-byte, and those JSON escapes (\uXXXX, \").
EXPENSIVE = st.sampled_from(['"', "\\", "é", "😀", "\u2028", "a"])


#: Step Functions keeps at most this many characters of an error's cause (the API's SensitiveCause).
CAUSE_MAX_CHARS = 32_768


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alphabet=st.lists(EXPENSIVE, min_size=1, max_size=3, unique=True))
def test_a_config_within_the_limit_keeps_the_largest_state_well_below_256_kib(alphabet):
    # Given the largest label a sagedrop.json within the limit can carry, written as raw UTF-8
    unit = "".join(alphabet)
    unit_bytes = len(json.dumps(unit, ensure_ascii=False).encode()) - 2
    label = unit * ((RUN_CONFIG_MAX_BYTES - 20) // unit_bytes)
    text = json.dumps({"label": label}, ensure_ascii=False).encode()
    assert len(text) <= RUN_CONFIG_MAX_BYTES
    config = resolve_run_config({}, parse_override(text, SOURCE), SOURCE)

    # When it is in every section that can repeat it: the config, the dataset's label, and a failure
    # whose Lambda error document quotes it (the input of "Record the failure")
    error = {"errorType": "LabelNotFoundError", "errorMessage": f"no column {label!r}; did you mean {label!r}?"}
    state = make_state(
        config=config.as_dict(),
        dataset={**make_dataset(), "label": label},
        failure={"Error": "LabelNotFoundError", "Cause": json.dumps(error)[:CAUSE_MAX_CHARS]},
    )
    document = parse_state(state, FailureInput).as_dict()

    # Then, serialised as a Lambda returns it (every non-ASCII character escaped), it stays well below the limit
    assert len(json.dumps(document).encode()) < STATE_PAYLOAD_MAX_BYTES * 3 // 4
