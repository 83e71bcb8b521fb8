from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_cdk.assertions import Match, Template

from stacks.constructs.evaluation import EVALUATION_DATA_DAYS
from tests.conftest import Synthesized
from tests.support.templates import render, resources_of_type


def storage(app: Synthesized) -> Template:
    return Template.from_json(app.template("Storage"))


def document_bucket(template: dict[str, Any]) -> dict[str, Any]:
    buckets = resources_of_type(template, "AWS::S3::Bucket")
    (bucket,) = [b for key, b in buckets.items() if key.startswith("Documents")]
    properties: dict[str, Any] = bucket["Properties"]
    return properties


def test_document_bucket_is_private_encrypted_versioned_and_logged(app: Synthesized) -> None:
    properties = document_bucket(app.template("Storage"))
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    encryption = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    logging = properties["LoggingConfiguration"]
    assert logging["LogFilePrefix"] == "documents/"
    assert logging["DestinationBucketName"]["Ref"].startswith("AccessLogsBucket")


def test_every_bucket_denies_plain_http(app: Synthesized) -> None:
    template = app.template("Storage")
    buckets = set(resources_of_type(template, "AWS::S3::Bucket"))
    policies = resources_of_type(template, "AWS::S3::BucketPolicy").values()
    tls_only = {
        policy["Properties"]["Bucket"]["Ref"]
        for policy in policies
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny" and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    }
    assert tls_only == buckets


def test_dev_mode_deletes_buckets_with_their_objects(app: Synthesized) -> None:
    template = app.template("Storage")
    for resource in resources_of_type(template, "AWS::S3::Bucket").values():
        assert resource["DeletionPolicy"] == "Delete"
    auto_delete = resources_of_type(template, "Custom::S3AutoDeleteObjects")
    assert len(auto_delete) == len(resources_of_type(template, "AWS::S3::Bucket")) == 3


def test_the_evaluation_bucket_is_private_encrypted_logged_and_expires_its_working_data(app: Synthesized) -> None:
    template = app.template("Storage")
    (bucket,) = [
        resource["Properties"]
        for resource in resources_of_type(template, "AWS::S3::Bucket").values()
        if "evaluation" in json.dumps(resource["Properties"].get("BucketName"))
    ]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert bucket["LoggingConfiguration"]["LogFilePrefix"] == "evaluation/"
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == EVALUATION_DATA_DAYS


def test_prod_mode_retains_buckets_vectors_and_logs(synth: Callable[..., Synthesized]) -> None:
    prod = synth(lifecycleMode="prod")
    template = prod.template("Storage")
    for stack, resource_type in (
        ("Storage", "AWS::S3::Bucket"),
        ("Storage", "Custom::S3VectorBucket"),
        ("KnowledgeBase", "Custom::S3VectorIndex"),
        ("Storage", "AWS::Logs::LogGroup"),
    ):
        resources = resources_of_type(prod.template(stack), resource_type)
        assert resources, resource_type
        assert {r["DeletionPolicy"] for r in resources.values()} == {"Retain"}, resource_type
    assert not resources_of_type(template, "Custom::S3AutoDeleteObjects")


def test_sample_documents_deploy_under_the_prefix_without_pruning(app: Synthesized) -> None:
    storage(app).has_resource_properties(
        "Custom::CDKBucketDeployment",
        {"DestinationBucketKeyPrefix": "documents/", "Prune": False},
    )


def test_log_groups_have_the_configured_retention(app: Synthesized) -> None:
    for group in resources_of_type(app.template("Storage"), "AWS::Logs::LogGroup").values():
        assert group["Properties"]["RetentionInDays"] == 30


def calls_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    (resource,) = resources_of_type(template, resource_type).values()
    return {phase: json.loads(render(resource["Properties"][phase])) for phase in ("Create", "Update", "Delete")}


def test_vector_bucket_calls(app: Synthesized) -> None:
    calls = calls_of(app.template("Storage"), "Custom::S3VectorBucket")
    assert calls["Create"]["action"] == "CreateVectorBucket"
    assert calls["Create"]["parameters"] == {
        "vectorBucketName": "kbstream-vectors",
        "encryptionConfiguration": {"sseType": "AES256"},
    }
    assert (
        calls["Create"]["physicalResourceId"]["id"]
        == "arn:aws:s3vectors:us-east-1:123456789012:bucket/kbstream-vectors"
    )
    assert calls["Update"]["ignoreErrorCodesMatching"] == "ConflictException"
    assert calls["Delete"] == {
        "action": "DeleteVectorBucket",
        "service": "S3Vectors",
        "ignoreErrorCodesMatching": "NotFoundException",
        "parameters": {"vectorBucketName": "kbstream-vectors"},
    }


def test_vector_index_is_configured_for_bedrock(app: Synthesized) -> None:
    index = app.settings.storage.vector_index
    calls = calls_of(app.template("KnowledgeBase"), "Custom::S3VectorIndex")
    assert calls["Create"]["parameters"] == {
        "vectorBucketName": "kbstream-vectors",
        "indexName": index.index_name,
        "dataType": "float32",
        "dimension": 1024,
        "distanceMetric": "cosine",
        "metadataConfiguration": {"nonFilterableMetadataKeys": ["AMAZON_BEDROCK_TEXT", "AMAZON_BEDROCK_METADATA"]},
        "encryptionConfiguration": {"sseType": "AES256"},
    }
    assert calls["Update"]["parameters"] == calls["Create"]["parameters"]
    assert calls["Delete"]["action"] == "DeleteIndex"
    assert calls["Delete"]["ignoreErrorCodesMatching"] == "NotFoundException"
    assert calls["Create"]["physicalResourceId"]["id"].endswith(f":bucket/kbstream-vectors/index/{index.index_name}")


def test_index_is_created_after_its_bucket_and_deleted_before_it(app: Synthesized) -> None:
    # The bucket is the storage stack's, the index the knowledge base stack's: the stack order decides.
    assert resources_of_type(app.template("Storage"), "Custom::S3VectorBucket")
    assert not resources_of_type(app.template("Storage"), "Custom::S3VectorIndex")
    assert resources_of_type(app.template("KnowledgeBase"), "Custom::S3VectorIndex")
    assert app.stacks.storage in app.stacks.knowledge_base.dependencies


def test_changing_an_immutable_index_property_replaces_the_index(synth: Callable[..., Synthesized]) -> None:
    before = calls_of(synth().template("KnowledgeBase"), "Custom::S3VectorIndex")
    after = calls_of(synth(embeddingDimension=512).template("KnowledgeBase"), "Custom::S3VectorIndex")
    assert after["Update"]["parameters"]["dimension"] == 512
    # A new name gives a new physical id, so CloudFormation deletes the old index after creating the new one.
    assert after["Update"]["physicalResourceId"]["id"] != before["Create"]["physicalResourceId"]["id"]
    assert after["Update"]["parameters"]["indexName"] != before["Create"]["parameters"]["indexName"]


def policy_statements_of(template: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    """Statements of the policy an AwsCustomResource creates for itself (``<Id>CustomResourcePolicy``)."""
    (logical_id,) = resources_of_type(template, resource_type)
    own_prefix = logical_id[:-8] + "CustomResourcePolicy"  # logical ids end in an 8-character hash
    (policy,) = [r for key, r in resources_of_type(template, "AWS::IAM::Policy").items() if key.startswith(own_prefix)]
    return list(render(policy["Properties"]["PolicyDocument"]["Statement"]))


def test_custom_resource_policies_name_the_bucket_and_index(app: Synthesized) -> None:
    index_name = app.settings.storage.vector_index.index_name
    bucket_arn = "arn:aws:s3vectors:us-east-1:123456789012:bucket/kbstream-vectors"
    assert policy_statements_of(app.template("Storage"), "Custom::S3VectorBucket") == [
        {
            "Action": ["s3vectors:CreateVectorBucket", "s3vectors:DeleteVectorBucket"],
            "Effect": "Allow",
            "Resource": bucket_arn,
        },
    ]
    assert policy_statements_of(app.template("KnowledgeBase"), "Custom::S3VectorIndex") == [
        {"Action": "s3vectors:CreateIndex", "Effect": "Allow", "Resource": f"{bucket_arn}/index/{index_name}"},
        {"Action": "s3vectors:DeleteIndex", "Effect": "Allow", "Resource": f"{bucket_arn}/index/*"},
    ]


def test_custom_resource_provider_does_not_download_an_sdk_at_deploy_time(app: Synthesized) -> None:
    Template.from_json(app.template("KnowledgeBase")).has_resource_properties(
        "Custom::S3VectorIndex", {"InstallLatestAwsSdk": False}
    )
    storage(app).has_resource_properties("Custom::S3VectorBucket", {"InstallLatestAwsSdk": False})


def test_no_role_uses_the_broad_basic_execution_managed_policy_where_we_own_it(app: Synthesized) -> None:
    storage(app).has_resource_properties(
        "AWS::IAM::Role",
        {"Description": "Runs this stack's SDK-call custom resources", "ManagedPolicyArns": Match.absent()},
    )


def test_outputs_for_the_next_stacks(app: Synthesized) -> None:
    outputs = app.template("Storage")["Outputs"]
    assert {"DocumentBucketName", "DocumentPrefix", "VectorBucketArn"} <= set(outputs)
    assert outputs["DocumentPrefix"]["Value"] == "documents/"
    index_name = app.settings.storage.vector_index.index_name
    index_arn = app.template("KnowledgeBase")["Outputs"]["VectorIndexArn"]["Value"]
    assert render(index_arn).endswith(f"bucket/kbstream-vectors/index/{index_name}")
