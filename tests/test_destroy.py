"""`cdk destroy --all` in dev leaves nothing behind; prod keeps exactly the data it promises to keep."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.conftest import Synthesized
from tests.support.templates import resources_of_type

RETAINING = {"Retain", "RetainExceptOnCreate", "Snapshot"}


def kept(resource: dict[str, Any]) -> bool:
    return resource.get("DeletionPolicy") in RETAINING or resource.get("UpdateReplacePolicy") in RETAINING


def retained(app: Synthesized) -> set[tuple[str, str]]:
    return {
        (stack, resource["Type"])
        for stack, template in app.templates.items()
        for resource in template["Resources"].values()
        if kept(resource)
    }


def test_dev_retains_nothing(app: Synthesized) -> None:
    assert app.settings.lifecycle.mode.value == "dev"
    offenders = [
        f"{stack}/{logical_id} ({resource['Type']})"
        for stack, template in app.templates.items()
        for logical_id, resource in template["Resources"].items()
        if kept(resource)
    ]
    assert offenders == []


def test_every_function_logs_to_a_log_group_the_stack_deletes(app: Synthesized) -> None:
    for stack, template in app.templates.items():
        groups = resources_of_type(template, "AWS::Logs::LogGroup")
        for logical_id, function in resources_of_type(template, "AWS::Lambda::Function").items():
            target = function["Properties"].get("LoggingConfig", {}).get("LogGroup", {})
            assert isinstance(target, dict) and target.get("Ref") in groups, f"{stack}/{logical_id} logs elsewhere"
        for logical_id, group in groups.items():
            assert group["DeletionPolicy"] == "Delete", f"{stack}/{logical_id}"
            assert group["Properties"]["RetentionInDays"] == app.settings.lifecycle.log_retention_days


def test_every_bucket_is_emptied_before_it_is_deleted(app: Synthesized) -> None:
    for stack, template in app.templates.items():
        emptied = {
            json.dumps(resource["Properties"]["BucketName"])
            for resource in resources_of_type(template, "Custom::S3AutoDeleteObjects").values()
        }
        for logical_id in resources_of_type(template, "AWS::S3::Bucket"):
            assert json.dumps({"Ref": logical_id}) in emptied, f"{stack}/{logical_id} would not be emptied"


def test_the_vector_store_is_deleted_knowledge_base_first_then_index_then_bucket(app: Synthesized) -> None:
    knowledge_base, storage = app.template("KnowledgeBase"), app.template("Storage")
    (index_id,) = resources_of_type(knowledge_base, "Custom::S3VectorIndex")
    (knowledge_base_id,) = resources_of_type(knowledge_base, "AWS::Bedrock::KnowledgeBase")
    (bucket_id,) = resources_of_type(storage, "Custom::S3VectorBucket")
    assert json.loads(knowledge_base["Resources"][index_id]["Properties"]["Delete"])["action"] == "DeleteIndex"
    assert json.loads(storage["Resources"][bucket_id]["Properties"]["Delete"])["action"] == "DeleteVectorBucket"
    # The knowledge base depends on its index, so CloudFormation deletes it first; the knowledge base
    # stack depends on the storage stack, so its index goes before the bucket.
    assert index_id in knowledge_base["Resources"][knowledge_base_id]["DependsOn"]
    assert app.stacks.storage in app.stacks.knowledge_base.dependencies


def test_stacks_are_destroyed_consumers_first(app: Synthesized) -> None:
    stacks = [stack for stack in vars(app.stacks).values() if stack is not None]
    depends = {stack.node.id: {dependency.node.id for dependency in stack.dependencies} for stack in stacks}
    assert "Storage" in depends["KnowledgeBase"]
    assert {"Network", "KnowledgeBase"} <= depends["Streaming"]
    assert "KnowledgeBase" in depends["Query"]


def test_prod_keeps_the_data_and_logs_only(synth: Callable[..., Synthesized]) -> None:
    app = synth(lifecycleMode="prod")
    assert {resource_type for _, resource_type in retained(app)} == {
        "AWS::S3::Bucket",  # documents and their access logs
        "AWS::Logs::LogGroup",
        "Custom::S3VectorBucket",  # kept: their delete calls are not made
        "Custom::S3VectorIndex",
        "AWS::MSK::Topic",
    }
