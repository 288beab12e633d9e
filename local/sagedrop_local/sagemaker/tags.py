"""AddTags, ListTags and DeleteTags on any resource of the local SageMaker."""

from __future__ import annotations

import copy
from typing import Any

from .context import Local
from .errors import SageMakerApiError, validation_exception
from .listing import decode_token, encode_token
from .store import Tables, merge_tags

MAX_TAGS = 50
_ARN_KEYS = (
    ("training_jobs", "TrainingJobArn"),
    ("models", "ModelArn"),
    ("endpoint_configs", "EndpointConfigArn"),
    ("endpoints", "EndpointArn"),
    ("transform_jobs", "TransformJobArn"),
    ("processing_jobs", "ProcessingJobArn"),
    ("tuning_jobs", "HyperParameterTuningJobArn"),
)


def _require_resource(tables: Tables, arn: str) -> None:
    wanted = arn.lower()
    if not any(record[key].lower() == wanted for table, key in _ARN_KEYS for record in tables.get(table, {}).values()):
        raise validation_exception(f"Resource {arn} does not exist.")


class Tags:
    def __init__(self, local: Local):
        self._store = local.store

    def operations(self) -> dict:
        return {
            ("sagemaker", "AddTags"): self.add,
            ("sagemaker", "ListTags"): self.list,
            ("sagemaker", "DeleteTags"): self.delete,
        }

    def add(self, params: dict, _region: str, _context: dict) -> dict:
        arn = params["ResourceArn"]
        with self._store.write() as tables:
            _require_resource(tables, arn)
            merge_tags(tables, arn, params.get("Tags") or [])
            if len(tables["tags"].get(arn, [])) > MAX_TAGS:
                raise SageMakerApiError("ResourceLimitExceeded", f"A resource can have at most {MAX_TAGS} tags.")
        return {"Tags": copy.deepcopy(params.get("Tags") or [])}

    def list(self, params: dict, _region: str, _context: dict) -> dict:
        arn = params["ResourceArn"]
        with self._store.read() as tables:
            _require_resource(tables, arn)
            tags = copy.deepcopy(tables["tags"].get(arn, []))
        start = decode_token(params.get("NextToken"))
        size = params.get("MaxResults") or MAX_TAGS
        result: dict[str, Any] = {"Tags": tags[start : start + size]}
        if start + size < len(tags):
            result["NextToken"] = encode_token(start + size)
        return result

    def delete(self, params: dict, _region: str, _context: dict) -> dict:
        arn = params["ResourceArn"]
        remove = set(params.get("TagKeys") or [])
        with self._store.write() as tables:
            _require_resource(tables, arn)
            tables["tags"][arn] = [tag for tag in tables["tags"].get(arn, []) if tag["Key"] not in remove]
        return {}
