"""Shareable Lambda console test events, deployed with the function they exercise.

The Lambda console keeps shareable test events as schemas in the EventBridge Schemas registry
``lambda-testevent-schemas``: one OpenAPI 3 schema named ``_<function name>-schema`` per function,
one example per event. The registry is created by the console the first time anyone in the account
shares an event, so it may or may not exist: a custom resource creates it only when missing and
never deletes it (it is free, and other functions' events may live in it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_cdk import Fn, Stack
from aws_cdk import aws_eventschemas as eventschemas
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources as cr
from constructs import Construct

from custom_resources.sdk_call import sdk_call_resource
from stacks.foundation.singleton import stack_singleton
from stacks.settings import Lifecycle

REGISTRY_NAME = "lambda-testevent-schemas"
_REGISTRY_ID = "LambdaTestEventRegistry"


def test_event_schema(events: Mapping[str, Any]) -> dict[str, Any]:
    """The OpenAPI 3 document the Lambda console reads: each example is one named test event."""
    return {
        "openapi": "3.0.0",
        "info": {"version": "1.0.0", "title": "Event"},
        "paths": {},
        "components": {
            "schemas": {"Event": {"type": "object"}},
            "examples": {name: {"value": event} for name, event in events.items()},
        },
    }


class _TestEventRegistry(Construct):
    """Creates the registry if it is missing; one per stack."""

    def __init__(self, scope: Construct, construct_id: str, *, lifecycle: Lifecycle) -> None:
        super().__init__(scope, construct_id)
        registry_arn = Stack.of(self).format_arn(service="schemas", resource="registry", resource_name=REGISTRY_NAME)
        self.resource = sdk_call_resource(
            self,
            "Resource",
            lifecycle=lifecycle,
            on_create=cr.AwsSdkCall(
                service="Schemas",
                action="CreateRegistry",
                parameters={
                    "RegistryName": REGISTRY_NAME,
                    "Description": "Shareable test events of Lambda functions (Lambda console)",
                },
                physical_resource_id=cr.PhysicalResourceId.of(REGISTRY_NAME),
                # It already exists when anyone in the account has shared a test event before.
                ignore_error_codes_matching="ConflictException",
            ),
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [iam.PolicyStatement(actions=["schemas:CreateRegistry"], resources=[registry_arn])]
            ),
        )

    @staticmethod
    def of(scope: Construct, lifecycle: Lifecycle) -> _TestEventRegistry:
        return stack_singleton(
            scope,
            _REGISTRY_ID,
            _TestEventRegistry,
            lambda stack, name: _TestEventRegistry(stack, name, lifecycle=lifecycle),
        )


class ConsoleTestEvents(Construct):
    """Named test events of ``function``, listed under "Shareable saved events" in the Lambda console."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        events: Mapping[str, Any],
        lifecycle: Lifecycle,
    ) -> None:
        super().__init__(scope, construct_id)
        registry = _TestEventRegistry.of(self, lifecycle)
        self.schema = eventschemas.CfnSchema(
            self,
            "Schema",
            registry_name=REGISTRY_NAME,
            schema_name=Fn.join("", ["_", function.function_name, "-schema"]),
            type="OpenApi3",
            content=json.dumps(test_event_schema(events)),
            description="Lambda console test events",
        )
        self.schema.node.add_dependency(registry)
