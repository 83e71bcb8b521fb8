"""cdk-nag acknowledgements: one finding, one construct, one reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnElement, Stack, Token, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge a single AwsSolutions finding (``AwsSolutions-IAM5[Action::s3:List*]``) on ``construct``."""
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))


def token(element: IConstruct, attribute: str = "Arn") -> str:
    """How cdk-nag spells a ``Fn::GetAtt`` of ``element`` inside a finding id, e.g. ``<Bucket1234.Arn>``."""
    resource = element.node.default_child if not isinstance(element, CfnElement) else element
    assert isinstance(resource, CfnElement)
    return f"<{Stack.of(element).get_logical_id(resource)}.{attribute}>"


def pseudo(scope: IConstruct) -> tuple[str, str, str]:
    """(partition, Region, account) as cdk-nag spells them in a finding id: ``<AWS::Region>`` in a stack that
    deploys anywhere, the Region itself in one an environment pins to its account and Region."""
    stack = Stack.of(scope)

    def shown(value: str, name: str) -> str:
        return f"<AWS::{name}>" if Token.is_unresolved(value) else value

    return shown(stack.partition, "Partition"), shown(stack.region, "Region"), shown(stack.account, "AccountId")
