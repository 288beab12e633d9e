"""Print the CloudFormation that the SAM transform makes of template.yaml, as JSON.

Runs under the aws-sam-cli virtualenv (`.venv-sam/bin/python tests/infra/sam_translate.py template.yaml`),
offline: it is what `sam validate` does, minus the printing. The template tests use the output to
check the IAM policies *after* SAM expanded its policy templates and event sources.
"""

import json
import sys

import boto3
from samcli.lib.translate.sam_template_validator import SamTemplateValidator
from samcli.yamlhelper import yaml_dump, yaml_parse  # noqa: F401  (yaml_dump: the validator's output format)
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader


def main(path: str) -> None:
    with open(path, encoding="utf-8") as handle:
        template = yaml_parse(handle.read())
    iam = boto3.client("iam", region_name="us-east-1")  # only called if a managed policy is named
    validator = SamTemplateValidator(template, ManagedPolicyLoader(iam), region="us-east-1")
    translated = yaml_parse(validator.get_translated_template_if_valid())
    json.dump(translated, sys.stdout, indent=1, default=str)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "template.yaml")
