"""The S3 Vectors calls of the storage and knowledge base templates, exactly as synthesized, run against moto
and Stubber.

moto's S3 Vectors keeps the index's data type, dimension and metric, and enforces names, existence
and the bucket-not-empty rule; it does not keep metadata configuration or reject a duplicate index,
so those two behaviours are checked with botocore's Stubber against the service's documented errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from tests.conftest import Synthesized
from tests.support.replay import replay
from tests.support.templates import SdkCall, custom_resource_sdk_calls

REGION = "us-east-1"


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def s3vectors(aws_credentials: None) -> Iterator[object]:
    with mock_aws():
        yield boto3.client("s3vectors", region_name=REGION)


def calls(app: Synthesized) -> dict[tuple[str, str], SdkCall]:
    """(Bucket or Index, phase) -> the call: the bucket is the storage stack's, the index the knowledge base's."""
    found: dict[tuple[str, str], SdkCall] = {}
    for stack in ("Storage", "KnowledgeBase"):
        template = app.template(stack)
        for call in custom_resource_sdk_calls(stack, template):
            kind = template["Resources"][call.logical_id]["Type"]
            if kind.startswith("Custom::S3Vector"):
                found[(kind.removeprefix("Custom::S3Vector"), call.phase)] = call
    return found


def index_names() -> list[str]:
    client = boto3.client("s3vectors", region_name=REGION)
    return [index["indexName"] for index in client.list_indexes(vectorBucketName="kbstream-vectors")["indexes"]]


def test_create_then_delete_leaves_nothing_behind(app: Synthesized, s3vectors: object) -> None:
    client = boto3.client("s3vectors", region_name=REGION)
    by_phase = calls(app)
    index_name = app.settings.storage.vector_index.index_name

    replay(by_phase[("Bucket", "Create")])
    replay(by_phase[("Index", "Create")])
    index = client.get_index(vectorBucketName="kbstream-vectors", indexName=index_name)["index"]
    assert (index["dataType"], index["dimension"], index["distanceMetric"]) == ("float32", 1024, "cosine")

    replay(by_phase[("Index", "Delete")])
    replay(by_phase[("Bucket", "Delete")])
    assert client.list_vector_buckets()["vectorBuckets"] == []


def test_the_bucket_cannot_go_before_its_index(app: Synthesized, s3vectors: object) -> None:
    by_phase = calls(app)
    replay(by_phase[("Bucket", "Create")])
    replay(by_phase[("Index", "Create")])
    with pytest.raises(ClientError, match="ConflictException"):
        replay(by_phase[("Bucket", "Delete")])  # hence the index depends on the bucket in the template


def test_delete_tolerates_resources_already_gone(app: Synthesized, s3vectors: object) -> None:
    by_phase = calls(app)
    assert replay(by_phase[("Index", "Delete")]) is None
    assert replay(by_phase[("Bucket", "Delete")]) is None


def test_bucket_update_with_the_same_name_is_a_no_op(app: Synthesized, s3vectors: object) -> None:
    by_phase = calls(app)
    replay(by_phase[("Bucket", "Create")])
    assert replay(by_phase[("Bucket", "Update")]) is None  # ConflictException ignored
    with pytest.raises(ClientError, match="ConflictException"):
        replay(by_phase[("Bucket", "Create")])  # a create never adopts an existing bucket


def test_replacement_creates_the_new_index_then_deletes_the_old(
    synth: Callable[..., Synthesized], app: Synthesized, s3vectors: object
) -> None:
    old, new = calls(app), calls(synth(embeddingDimension=512))
    replay(old[("Bucket", "Create")])
    replay(old[("Index", "Create")])
    # CloudFormation sends Update with the new properties, then Delete with the old ones during cleanup.
    replay(new[("Index", "Update")])
    assert len(index_names()) == 2
    replay(old[("Index", "Delete")])
    assert index_names() == [new[("Index", "Update")].parameters["indexName"]]
    client = boto3.client("s3vectors", region_name=REGION)
    assert (
        client.get_index(vectorBucketName="kbstream-vectors", indexName=index_names()[0])["index"]["dimension"] == 512
    )


def test_an_index_that_already_exists_under_its_name_is_adopted(app: Synthesized, aws_credentials: None) -> None:
    # The name carries the fingerprint of the index's configuration: an index of that name (kept by prod
    # mode, or the same index on an update) is the one wanted, on create and on update alike.
    by_phase = calls(app)
    client = boto3.client("s3vectors", region_name=REGION)
    with Stubber(client) as stub:
        for phase in ("Update", "Create"):
            stub.add_client_error("create_index", service_error_code="ConflictException", http_status_code=409,
                                  expected_params=by_phase[("Index", phase)].parameters)  # fmt: skip
        assert replay(by_phase[("Index", "Update")], client) is None
        assert replay(by_phase[("Index", "Create")], client) is None
        stub.assert_no_pending_responses()
