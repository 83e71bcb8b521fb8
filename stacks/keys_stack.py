"""Keys stack: the customer-managed key that encrypts the app's data (``encryption=customer-managed``)."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from stacks.constructs.data_key import DataKey
from stacks.settings import Lifecycle


class KeysStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, name_prefix: str, lifecycle: Lifecycle,
                 **kwargs: object) -> None:  # fmt: skip
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.data_key = DataKey(self, "DataKey", name_prefix=name_prefix, lifecycle=lifecycle)
        CfnOutput(self, "DataKeyArn", value=self.data_key.key.key_arn)
