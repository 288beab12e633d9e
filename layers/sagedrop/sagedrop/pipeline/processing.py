"""What the pipeline's SageMaker Processing jobs share: their code as a zip application, inputs, run time.

Two steps run our own code in a Processing job: the model analysis (XGBoost image) and the
preparation of a large upload (scikit-learn image). The code travels as one zip application built
from the job module's import closure, so the job runs the same code as the tests.
"""

from __future__ import annotations

import io
import math
import zipfile
from datetime import datetime

from sagedrop.inference.packaging import import_closure

CONTAINER_ROOT = "/opt/ml/processing"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def zip_application(job_module: str) -> bytes:
    """``python3 app.pyz …`` runs ``job_module.main()``: ``__main__`` and the module's import closure.

    Byte-for-byte the same for the same code (fixed member dates), so a retried step uploads the same object.
    """
    closure = import_closure([job_module])
    package_root = closure["sagedrop"].parent.parent
    main = f"import sys\n\nfrom {job_module} import main\n\nsys.exit(main())\n".encode()
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("__main__.py", _ZIP_DATE), main)
        for path in sorted(closure.values()):
            archive.writestr(zipfile.ZipInfo(path.relative_to(package_root).as_posix(), _ZIP_DATE), path.read_bytes())
    return raw.getvalue()


def processing_input(name: str, uri: str) -> dict:
    """An S3 prefix downloaded (File mode) to ``/opt/ml/processing/input/<name>`` before the code starts."""
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": f"{CONTAINER_ROOT}/input/{name}",
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


def run_seconds(job: dict) -> int | None:
    """The job's run time (what Processing bills), from DescribeProcessingJob; None until it ended."""
    started, ended = job.get("ProcessingStartTime"), job.get("ProcessingEndTime")
    if not (isinstance(started, datetime) and isinstance(ended, datetime)):
        return None
    return max(0, math.ceil((ended - started).total_seconds()))
