"""encryption=customer-managed: every data store names the key, found by walking CloudFormation's own
schemas; the key policy is what each service's documentation asks; grants are evaluated by iam-simulate."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from devtools.settings_docs import DOCS
from stacks.foundation.encryption import NOT_UNDER_THE_KEY
from stacks.settings import SettingsError, load_settings
from tests.conftest import CUSTOMER_MANAGED, EXISTING_KEY_ARN, Synthesized
from tests.support.documented_permissions import KEY_POLICY_GRANTS
from tests.support.iam import evaluate, function_role, role_policy_statements
from tests.support.sample_values import AppSamples
from tests.support.templates import function_with_handler, one, resources_of_type

REGION = "us-east-1"
# Where each data store names its key (a list index walks into a list).
KEY_PROPERTIES: dict[str, list[str | int]] = {
    "AWS::S3::Bucket": ["BucketEncryption", "ServerSideEncryptionConfiguration", 0, "ServerSideEncryptionByDefault",
                        "KMSMasterKeyID"],
    "AWS::SQS::Queue": ["KmsMasterKeyId"],
    "AWS::SNS::Topic": ["KmsMasterKeyId"],
    "AWS::Logs::LogGroup": ["KmsKeyId"],
    "AWS::Bedrock::DataSource": ["ServerSideEncryptionConfiguration", "KmsKeyArn"],
}  # fmt: skip
_KEY_PROPERTY_NAME = re.compile(r"kms", re.IGNORECASE)
# Key-named properties of these types are not encryption at rest of the resource's data.
_NOT_AT_REST = {("AWS::Lambda::Function", "SourceKMSKeyArn"), ("AWS::Lambda::Function", "KMSKeyArn"),
                ("AWS::Cognito::UserPool", "KMSKeyID")}  # fmt: skip


@pytest.fixture(scope="module")
def customer_managed(synth: Callable[..., Synthesized]) -> Synthesized:
    return synth(**CUSTOMER_MANAGED)


def _key_properties(schema: dict[str, Any], node: dict[str, Any], depth: int = 0) -> Iterator[str]:
    for name, definition in node.get("properties", {}).items():
        if _KEY_PROPERTY_NAME.search(name):
            yield name
        reference = definition.get("$ref") or definition.get("items", {}).get("$ref")
        if reference and reference.startswith("#/definitions/") and depth < 6:
            yield from _key_properties(schema, schema["definitions"][reference.rsplit("/", 1)[1]], depth + 1)


def types_taking_a_key(app: Synthesized) -> set[str]:
    """Resource types of the app whose registry schema has a KMS key property for their data."""
    found = set()
    for template in app.templates.values():
        for resource in template["Resources"].values():
            kind = resource["Type"]
            if kind.startswith("Custom::") or kind in found:
                continue
            schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, kind).schema
            if any((kind, name) not in _NOT_AT_REST for name in _key_properties(schema, schema)):
                found.add(kind)
    return found


def value_at(properties: Any, path: list[str | int]) -> Any:
    for step in path:
        if isinstance(step, int):
            properties = properties[step] if isinstance(properties, list) and len(properties) > step else None
        else:
            properties = properties.get(step) if isinstance(properties, dict) else None
    return properties


def key_policy(app: Synthesized) -> dict[str, Any]:
    keys = app.template("Keys")
    _, key = one(keys, "AWS::KMS::Key")
    return dict(AppSamples(app.templates_by_stack_name).render(key["Properties"]["KeyPolicy"], keys))


def the_key(app: Synthesized) -> str:
    if app.settings.data_encryption.key_arn:
        return app.settings.data_encryption.key_arn
    keys = app.template("Keys")
    return str(AppSamples(app.templates_by_stack_name).render({"Fn::GetAtt": [one(keys, "AWS::KMS::Key")[0], "Arn"]},
                                                              keys))  # fmt: skip


def page_buckets(template: dict[str, Any]) -> set[str]:
    """Buckets a CloudFront distribution serves: the chat page's public files (NOT_UNDER_THE_KEY)."""
    found: set[str] = set()
    for resource in resources_of_type(template, "AWS::CloudFront::Distribution").values():
        for origin in resource["Properties"]["DistributionConfig"]["Origins"]:
            name = origin.get("DomainName")
            if isinstance(name, dict) and "Fn::GetAtt" in name:
                found.add(name["Fn::GetAtt"][0])
    return found


def access_log_buckets(template: dict[str, Any]) -> set[str]:
    return {resource["Properties"]["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
            for resource in resources_of_type(template, "AWS::S3::Bucket").values()
            if "LoggingConfiguration" in resource.get("Properties", {})}  # fmt: skip


def test_every_type_that_takes_a_key_is_under_it_or_says_why_not(customer_managed: Synthesized) -> None:
    found = types_taking_a_key(customer_managed)
    assert set(KEY_PROPERTIES) <= found
    assert found - set(KEY_PROPERTIES) - set(NOT_UNDER_THE_KEY) == set(), "a new store: encrypt it or say why not"


@pytest.mark.parametrize("existing_key", [False, True], ids=["app-key", "existing-key"])
def test_every_data_store_names_the_key(synth: Callable[..., Synthesized], existing_key: bool) -> None:
    app = synth(**CUSTOMER_MANAGED, **({"encryptionKeyArn": EXISTING_KEY_ARN} if existing_key else {}))
    key, samples = the_key(app), AppSamples(app.templates_by_stack_name)
    checked: dict[str, int] = {}
    for stack_id, template in app.templates.items():
        excused = access_log_buckets(template) | page_buckets(template)
        for logical_id, resource in template["Resources"].items():
            path = KEY_PROPERTIES.get(resource["Type"])
            if path is None or logical_id in excused:
                continue
            named = samples.render(value_at(resource.get("Properties", {}), path), template)
            assert named == key, (stack_id, logical_id, named)
            checked[resource["Type"]] = checked.get(resource["Type"], 0) + 1
        for logical_id, resource in resources_of_type(template, "Custom::S3VectorIndex").items():
            create = json.loads(str(samples.render(resource["Properties"]["Create"], template)))
            configuration = create["parameters"]["encryptionConfiguration"]
            assert configuration == {"sseType": "aws:kms", "kmsKeyArn": key}, logical_id
            checked["Custom::S3VectorIndex"] = 1
    assert checked.keys() == {*KEY_PROPERTIES, "Custom::S3VectorIndex"}
    assert checked["AWS::Logs::LogGroup"] > 10 and checked["AWS::SQS::Queue"] == 4
    assert ("Keys" in app.templates) is not existing_key


def test_sessions_are_encrypted_with_the_key(customer_managed: Synthesized) -> None:
    _, function = function_with_handler(customer_managed.template("Query"), "query.handler.handler")
    samples = AppSamples(customer_managed.templates_by_stack_name)
    environment = samples.render(function["Properties"]["Environment"]["Variables"], customer_managed.template("Query"))
    assert environment["SESSION_KEY_ARN"] == the_key(customer_managed)


def test_aws_managed_names_no_key_and_keeps_the_index(app: Synthesized, customer_managed: Synthesized) -> None:
    assert "Keys" not in app.templates
    stores = [resource for template in app.templates.values() for resource in template["Resources"].values()
              if resource["Type"] in KEY_PROPERTIES]  # fmt: skip
    assert len(stores) > 20
    assert all(value_at(store.get("Properties", {}), KEY_PROPERTIES[store["Type"]]) is None for store in stores)
    # The index of a deployment without a key keeps the name it had before this setting existed.
    index = app.settings.storage.vector_index
    assert index.index_name == f"{index.index_base_name}-{index.fingerprint}" and not index.encryption_key
    assert customer_managed.settings.storage.vector_index.index_name != index.index_name


@pytest.mark.parametrize(("mode", "deletion"), [("dev", "Delete"), ("prod", "Retain")])
def test_the_key_rotates_and_follows_the_lifecycle(synth: Callable[..., Synthesized], mode: str, deletion: str) -> None:
    keys = synth(encryption="customer-managed", lifecycleMode=mode).template("Keys")
    _, key = one(keys, "AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
    # The shortest waiting period KMS allows, as the registry schema states it.
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, "AWS::KMS::Key").schema
    assert key["Properties"]["PendingWindowInDays"] == schema["properties"]["PendingWindowInDays"]["minimum"] == 7
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == deletion


def test_the_key_policy_admits_each_service_as_documented(customer_managed: Synthesized) -> None:
    keys = customer_managed.template("Keys")
    _, key = one(keys, "AWS::KMS::Key")
    samples = AppSamples(customer_managed.templates_by_stack_name)
    statements = samples.render(key["Properties"]["KeyPolicy"]["Statement"], keys)
    by_service = {statement["Principal"]["Service"]: statement for statement in statements
                  if "Service" in statement.get("Principal", {})}  # fmt: skip
    assert set(by_service) == {grant.principal.format(region=REGION) for grant in KEY_POLICY_GRANTS}
    for grant in KEY_POLICY_GRANTS:
        statement = by_service[grant.principal.format(region=REGION)]
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert set(actions) == grant.actions, grant.documentation
        keys_used = {name for condition in statement.get("Condition", {}).values() for name in condition}
        assert keys_used == grant.condition_keys, grant.documentation
    # Only the account (through IAM) administers the key; no other principal of any kind.
    others = [statement for statement in statements if "Service" not in statement.get("Principal", {})]
    assert [statement["Principal"] for statement in others] == [{"AWS": "arn:aws:iam::123456789012:root"}]


# Which roles may use the key, and for what (their code and their stores say so); evaluated by iam-simulate.
KEY_USERS: dict[tuple[str, str], set[str]] = {
    ("KnowledgeBase", "kb_sync.handler.handler"): {"kms:Decrypt", "kms:GenerateDataKey"},  # its queues
    ("Streaming", "stream_ingest.handler.handler"): {"kms:Decrypt", "kms:GenerateDataKey"},
    ("Streaming", "index_check.handler.handler"): {"kms:Decrypt", "kms:GenerateDataKey"},
    ("Query", "query.handler.handler"): {"kms:Decrypt", "kms:GenerateDataKey"},  # sessions
    ("Network", "producer.handler.handler"): set(),
}


@pytest.mark.parametrize(("stack_id", "handler"), KEY_USERS, ids=[handler for _, handler in KEY_USERS])
def test_roles_may_use_the_key_exactly_as_their_stores_need(
    customer_managed: Synthesized, stack_id: str, handler: str
) -> None:
    template = customer_managed.template(stack_id)
    function_id, _ = function_with_handler(template, handler)
    stack_name = customer_managed.stacks_by_id[stack_id].stack_name
    statements = role_policy_statements(customer_managed.templates_by_stack_name, stack_name,
                                        function_role(template, function_id))  # fmt: skip
    key, policy = the_key(customer_managed), key_policy(customer_managed)
    allowed = {action for action in ("kms:Decrypt", "kms:GenerateDataKey", "kms:CreateGrant", "kms:ScheduleKeyDeletion")
               if evaluate(statements, action, key, policy).allowed}  # fmt: skip
    assert allowed == KEY_USERS[(stack_id, handler)]


def test_the_knowledge_base_role_reads_documents_and_writes_vectors_under_the_key(
    customer_managed: Synthesized,
) -> None:
    template = customer_managed.template("KnowledgeBase")
    (role_id,) = [key for key, resource in resources_of_type(template, "AWS::IAM::Role").items()
                  if "Bedrock knowledge base" in str(resource["Properties"].get("Description"))]  # fmt: skip
    statements = role_policy_statements(customer_managed.templates_by_stack_name,
                                        customer_managed.stacks.knowledge_base.stack_name, role_id)  # fmt: skip
    key, policy = the_key(customer_managed), key_policy(customer_managed)
    assert evaluate(statements, "kms:Decrypt", key, policy).allowed
    assert evaluate(statements, "kms:GenerateDataKey", key, policy).allowed
    assert not evaluate(
        statements, "kms:Decrypt", key
    ).allowed  # without the key policy's trust, IAM alone is not enough
    assert not evaluate(statements, "kms:Decrypt", EXISTING_KEY_ARN.replace("0a1b", "ffff"), policy).allowed
    documents = next(s for s in statements if s.get("Sid") == "DocumentsKey")
    assert documents["Condition"] == {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}


def test_the_security_page_says_what_is_not_under_the_key() -> None:
    security = (DOCS / "security.md").read_text().split("## Encryption at rest", 1)[1].split("\n## ", 1)[0]
    for reason in NOT_UNDER_THE_KEY.values():
        assert reason in " ".join(security.split()), reason[:60]


def test_a_key_arn_without_customer_managed_is_refused() -> None:
    with pytest.raises(SettingsError, match="encryptionKeyArn"):
        load_settings({"app:encryptionKeyArn": EXISTING_KEY_ARN})
    with pytest.raises(SettingsError, match="encryptionKeyArn"):
        load_settings({"app:encryption": "customer-managed", "app:encryptionKeyArn": "alias/mine"})


def test_the_operator_policy_reads_dead_letters_under_the_apps_key_only(customer_managed: Synthesized) -> None:
    from stacks.foundation.operator_policy import operator_policy
    from tests.support.iam_simulator import SAMPLE_ACCOUNT, simulator

    policy, key = operator_policy("kbstream"), the_key(customer_managed)
    keys = customer_managed.template("Keys")
    (alias,) = [resource["Properties"]["AliasName"] for resource in resources_of_type(keys, "AWS::KMS::Alias").values()]

    def decrypt(aliases: list[str]) -> bool:
        context = {"aws:ResourceAccount": SAMPLE_ACCOUNT, "kms:ResourceAliases": aliases}
        return simulator().evaluate([policy], "kms:Decrypt", key, context=context,
                                    resource_policy=key_policy(customer_managed)).allowed  # fmt: skip

    assert decrypt([alias])
    assert not decrypt(["alias/someone-else"])
