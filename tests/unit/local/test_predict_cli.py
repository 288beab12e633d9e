"""sagedrop predict's file handling: input columns plus predictions out, failures leave no output."""

from __future__ import annotations

import csv
import io

import pytest

from sagedrop.errors import EndpointError, EndpointRejected
from sagedrop_local.cli import main
from sagedrop_local.predict_cli import predict_file


def classifier(body: bytes, content_type: str, accept: str) -> bytes:
    """Answers 'yes' with 0.9 for rows whose age is over 40, as the contract's CSV does."""
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    for number, row in enumerate(rows, start=1):
        if not row["age"].isdigit():
            raise EndpointError(f"row {number}, column 'age': {row['age']!r} is not a number", status=400)
    return "".join("yes,0.9\n" if int(row["age"]) > 40 else "no,0.7\n" for row in rows).encode()


def test_the_output_is_the_input_with_its_predictions(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("age,job\n" + "".join(f"{20 + i},clerk\n" for i in range(40)))
    destination = tmp_path / "out.csv"

    rows = predict_file(source, destination, classifier, max_bytes=64, progress=io.StringIO())

    written = list(csv.reader(destination.open()))
    assert rows == 40
    assert written[0] == ["age", "job", "predicted_label", "probability"]
    assert written[1] == ["20", "clerk", "no", "0.7"] and written[-1] == ["59", "clerk", "yes", "0.9"]


def test_a_bad_row_names_the_input_row_and_leaves_no_output(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("age,job\n" + "".join(f"{20 + i},clerk\n" for i in range(30)) + "forty,clerk\n")
    destination = tmp_path / "out.csv"

    with pytest.raises(EndpointRejected, match=r"\(row 31 of the input\), column 'age'"):
        predict_file(source, destination, classifier, max_bytes=64, progress=io.StringIO())

    assert list(tmp_path.iterdir()) == [source]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["missing.csv", "--out", "out.csv"], "missing.csv: no such file"),
        ([".", "--out", "out.csv"], ": is a directory"),
        (["in.csv", "--out", "."], "is a directory; name the CSV to write"),
        (["in.csv", "--out", "nowhere/out.csv"], "folder nowhere does not exist"),
    ],
)
def test_operator_mistakes_end_with_one_line(tmp_path, monkeypatch, capsys, arguments, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.csv").write_text("age\n1\n")

    with pytest.raises(SystemExit) as raised:
        main(["predict", "endpoint-x", *arguments])

    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_an_endpoint_error_is_one_line_and_exit_1(tmp_path, monkeypatch, capsys):
    class Runtime:
        def invoke_endpoint(self, **request):
            from botocore.exceptions import ClientError

            response = {
                "Error": {"Code": "ModelError", "Message": "Received client error (400)"},
                "OriginalStatusCode": 400,
                "OriginalMessage": "row 1, column 'age': 'x' is not a number",
            }
            raise ClientError(response, "InvokeEndpoint")

    monkeypatch.setattr("sagedrop.aws.clients.client", lambda *a, **k: Runtime())
    (tmp_path / "in.csv").write_text("age\nx\n")

    status = main(["predict", "endpoint-x", str(tmp_path / "in.csv"), "--out", str(tmp_path / "o.csv")])

    out = capsys.readouterr().out
    assert status == 1 and out.count("\n") == 1
    assert "(row 1 of the input), column 'age'" in out
