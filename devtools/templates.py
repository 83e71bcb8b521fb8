"""Rendering synthesized CloudFormation templates offline: intrinsics become readable sample values."""

from __future__ import annotations

from typing import Any

from devtools.sdk_model import DEPLOY_TIME_MARKER

# Stand-ins for pseudo parameters, so that ARNs built from them read like real ones.
PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "stack",
}


def render(value: Any, *, pseudo: dict[str, str] | None = None, attributes: dict[str, str] | None = None) -> Any:
    """Replace intrinsics by strings: pseudo parameters by sample values, anything else by a marker.

    ``attributes`` gives sample values for ``Fn::GetAtt`` targets (``"Cluster.Arn"``) and for other
    stacks' outputs (``"stack-name.OutputName"``), so that ``Fn::Split``/``Fn::Select`` over them can
    be evaluated.
    """
    pseudo = PSEUDO_PARAMETERS if pseudo is None else pseudo
    attributes = attributes or {}

    def again(item: Any) -> Any:
        return render(item, pseudo=pseudo, attributes=attributes)

    if isinstance(value, list):
        return [again(item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return pseudo.get(argument, f"{DEPLOY_TIME_MARKER}Ref:{argument}\u27e7")
        if key == "Fn::GetAtt":
            target = ".".join(argument) if isinstance(argument, list) else argument
            return attributes.get(target, f"{DEPLOY_TIME_MARKER}GetAtt:{target}\u27e7")
        if key == "Fn::GetStackOutput":
            target = f"{argument['StackName']}.{argument['OutputName']}"
            return attributes.get(target, f"{DEPLOY_TIME_MARKER}Fn::GetStackOutput\u27e7")
        if key == "Fn::Join":
            separator, parts = argument
            return separator.join(str(again(part)) for part in parts)
        if key == "Fn::Split":
            separator, source = argument[0], again(argument[1])
            if isinstance(source, str) and DEPLOY_TIME_MARKER not in source:
                return source.split(separator)
        if key == "Fn::Select":
            index, items = argument[0], again(argument[1])
            if isinstance(items, list) and isinstance(index, int) and index < len(items):
                return items[index]
        if key == "Fn::ImportValue":
            return f"{DEPLOY_TIME_MARKER}Import\u27e7"
        if key.startswith("Fn::"):
            return f"{DEPLOY_TIME_MARKER}{key}\u27e7"
    return {key: again(item) for key, item in value.items()}
