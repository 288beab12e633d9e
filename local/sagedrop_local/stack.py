"""What template.yaml declares, resolved for the local cloud.

The local cloud builds itself from the same template `sam deploy` uses: the functions (code
folder, handler, environment = Globals merged with the function's own), the state machine (ASL
file and its DefinitionSubstitutions) and the parameters' defaults. Intrinsic functions are
resolved against the local resources' names and ARNs; an intrinsic this reader does not know
is an error rather than a silently wrong value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACCOUNT_ID = "123456789012"  # moto's default account


class _CfnLoader(yaml.SafeLoader):
    """PyYAML with CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, ...)."""


def _construct_tag(loader: yaml.Loader, tag_suffix: str, node: yaml.Node) -> dict:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def parameter_problem(name: str, value: str, spec: dict) -> str | None:
    """Why CloudFormation would refuse ``value`` for the template parameter ``spec`` (None: it accepts it).

    The constraints a template can declare: Type Number, MinValue/MaxValue, AllowedValues,
    AllowedPattern (the whole value must match) and MinLength/MaxLength.
    """
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            return f"{name}={value!r} is not a number (the parameter's Type is Number)"
        if "MinValue" in spec and number < float(spec["MinValue"]):
            return f"{name}={value} is below its MinValue {spec['MinValue']}"
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            return f"{name}={value} is above its MaxValue {spec['MaxValue']}"
    allowed = [str(choice) for choice in spec.get("AllowedValues", [])]
    if allowed and value not in allowed:
        return f"{name}={value!r} is not one of its AllowedValues: {', '.join(allowed)}"
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
        return f"{name}={value!r} does not match its AllowedPattern {spec['AllowedPattern']}"
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        return f"{name}={value!r} is shorter than its MinLength {spec['MinLength']}"
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        return f"{name}={value!r} is longer than its MaxLength {spec['MaxLength']}"
    return None


@dataclass(frozen=True)
class LocalFunction:
    logical_id: str
    folder: str  # functions/<folder>/
    handler: str  # app.lambda_handler
    name: str
    arn: str
    environment: dict[str, str]

    @property
    def module(self) -> str:
        return f"functions.{self.folder}.{self.handler.rsplit('.', 1)[0]}"

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]


@dataclass
class LocalStack:
    """The template's resources, named and resolved for one local stack."""

    root: Path
    stack_name: str
    region: str
    template: dict
    parameters: dict[str, str] = field(default_factory=dict)
    physical: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def from_template(
        cls,
        root: Path,
        *,
        stack_name: str = "sagedrop-local",
        region: str = "us-east-1",
        parameter_overrides: dict[str, str] | None = None,
    ) -> LocalStack:
        template = load_template(root / "template.yaml")
        parameters = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
        unknown = set(parameter_overrides or {}) - set(parameters)
        if unknown:
            raise ValueError(f"unknown template parameters: {', '.join(sorted(unknown))}")
        parameters.update(parameter_overrides or {})
        stack = cls(root=root, stack_name=stack_name, region=region, template=template, parameters=parameters)
        stack.physical = stack._name_resources()
        return stack

    # --- naming ------------------------------------------------------------------------------
    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}:{resource}"

    def _name_resources(self) -> dict[str, dict[str, str]]:
        """Physical ids and attributes of every resource the environment or ASL can refer to."""
        physical: dict[str, dict[str, str]] = {}
        for logical_id, resource in self.template["Resources"].items():
            kind = resource["Type"]
            name = f"{self.stack_name}-{logical_id}".lower()
            if kind == "AWS::S3::Bucket":
                physical[logical_id] = {"Ref": name, "Arn": f"arn:aws:s3:::{name}"}
            elif kind == "AWS::SNS::Topic":
                arn = self._arn("sns", name)
                physical[logical_id] = {"Ref": arn, "TopicArn": arn, "TopicName": name}
            elif kind == "AWS::IAM::Role":
                arn = f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"
                physical[logical_id] = {"Ref": name, "Arn": arn}
            elif kind == "AWS::Serverless::Function":
                arn = self._arn("lambda", f"function:{name}")
                physical[logical_id] = {"Ref": name, "Arn": arn}
            elif kind == "AWS::Serverless::StateMachine":
                machine = f"{self.stack_name}-pipeline"
                arn = self._arn("states", f"stateMachine:{machine}")
                physical[logical_id] = {"Ref": arn, "Arn": arn, "Name": machine}
            elif kind == "AWS::SQS::Queue":
                physical[logical_id] = {
                    "Ref": f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT_ID}/{name}",
                    "Arn": self._arn("sqs", name),
                    "QueueName": name,
                }
            elif kind == "AWS::Logs::LogGroup":
                group = resource.get("Properties", {}).get("LogGroupName", name)
                physical[logical_id] = {"Ref": str(group), "Arn": self._arn("logs", f"log-group:{group}")}
            else:
                physical[logical_id] = {"Ref": name, "Arn": self._arn("unknown", name)}
        return physical

    # --- intrinsic functions -----------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {key: self.resolve(item) for key, item in value.items()}
        ((key, argument),) = value.items()
        if key == "Ref":
            return self._ref(argument)
        if key == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self.physical[logical_id][attribute]
        if key == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return self._sub(text, {k: self.resolve(v) for k, v in variables.items()})
        if key == "Fn::Join":
            separator, items = argument
            return separator.join(str(self.resolve(item)) for item in items)
        if key.startswith("Fn::"):
            raise ValueError(f"the local cloud does not resolve {key}")
        return {key: self.resolve(argument)}

    def _ref(self, name: str) -> str:
        pseudo = {
            "AWS::StackName": self.stack_name,
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.physical[name]["Ref"]

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match) -> str:
            expression = match.group(1)
            if expression in variables:
                return str(variables[expression])
            if "." in expression and not expression.startswith("AWS::"):
                logical_id, attribute = expression.split(".", 1)
                return str(self.physical[logical_id][attribute])
            return str(self._ref(expression))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    # --- what the local cloud builds -----------------------------------------------------------
    def resource(self, logical_id: str, attribute: str = "Ref") -> str:
        return self.physical[logical_id][attribute]

    def functions(self) -> dict[str, LocalFunction]:
        globals_ = self.template.get("Globals", {}).get("Function", {})
        global_env = globals_.get("Environment", {}).get("Variables", {})
        found = {}
        for logical_id, resource in self.template["Resources"].items():
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            properties = resource.get("Properties", {})
            own_env = properties.get("Environment", {}).get("Variables", {})
            environment = {k: str(self.resolve(v)) for k, v in {**global_env, **own_env}.items()}
            folder = Path(properties["CodeUri"]).name
            found[logical_id] = LocalFunction(
                logical_id=logical_id,
                folder=folder,
                handler=properties.get("Handler", globals_.get("Handler", "app.lambda_handler")),
                name=self.physical[logical_id]["Ref"],
                arn=self.physical[logical_id]["Arn"],
                environment=environment,
            )
        return found

    def state_machine_definition(self, logical_id: str = "PipelineStateMachine") -> str:
        """The ASL text with its DefinitionSubstitutions applied, as CloudFormation would."""
        properties = self.template["Resources"][logical_id]["Properties"]
        text = (self.root / properties["DefinitionUri"]).read_text()
        substitutions = {k: str(self.resolve(v)) for k, v in properties.get("DefinitionSubstitutions", {}).items()}
        missing = sorted(set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", text)) - set(substitutions))
        if missing:
            raise ValueError(f"{properties['DefinitionUri']} uses undefined substitutions: {', '.join(missing)}")
        return re.sub(r"\$\{([A-Za-z0-9_]+)\}", lambda m: substitutions[m.group(1)], text)
