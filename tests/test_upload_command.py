"""make upload: the sidecars are checked, then every file lands under the deployed bucket's document prefix."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from scripts.make_sample_documents import DOCUMENTS_DIR
from scripts.operator_cli import Operator
from scripts.upload_documents import main
from stacks.settings import load_settings

BUCKET = "kbstream-documents-123456789012-us-east-1"


@pytest.fixture
def operator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Operator]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        session.client("s3").create_bucket(Bucket=BUCKET)
        yield Operator(settings=load_settings({}), session=session)


def outputs(operator: Operator) -> Stubber:
    stub = Stubber(operator.client("cloudformation"))
    stack = {"StackName": "kbstream-storage", "CreationTime": "2026-12-01T00:00:00Z", "StackStatus": "CREATE_COMPLETE",
             "Outputs": [{"OutputKey": "DocumentBucketName", "OutputValue": BUCKET}]}  # fmt: skip
    stub.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "kbstream-storage"})
    return stub


def keys(operator: Operator) -> list[str]:
    listed: dict[str, Any] = operator.client("s3").list_objects_v2(Bucket=BUCKET)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def test_documents_and_sidecars_land_under_the_document_prefix(
    operator: Operator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "mine"
    shutil.copytree(DOCUMENTS_DIR, folder / "handbook")
    with outputs(operator):
        assert main([str(folder)], operator) == 0
    uploaded = keys(operator)
    assert len(uploaded) == 10 and all(key.startswith("documents/handbook/aurora_") for key in uploaded)
    assert "uploaded 10 file(s), 5 of them sidecars" in capsys.readouterr().out


def test_a_bad_sidecar_uploads_nothing(operator: Operator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("Our refund policy is 30 days.")
    (tmp_path / "notes.txt.metadata.json").write_text(json.dumps({"metadataAttributes": {"x-amz-bedrock-kb-a": 1}}))
    assert main([str(tmp_path)], operator) == 2
    assert "sidecar problem(s), nothing uploaded" in capsys.readouterr().err
    assert keys(operator) == []


def test_a_dry_run_lists_and_uploads_nothing(operator: Operator, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("Our refund policy is 30 days.")
    with outputs(operator):
        assert main([str(tmp_path), "--dry-run"], operator) == 0
    assert keys(operator) == []


def test_a_missing_folder_is_a_usage_error(operator: Operator, tmp_path: Path) -> None:
    assert main([str(tmp_path / "nowhere")], operator) == 2


def test_the_readmes_sidecar_example_passes_the_check(tmp_path: Path) -> None:
    from scripts.check_sidecars import check_sidecar
    from tests.conftest import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text()
    example = readme.split("A sidecar:\n\n```json\n", 1)[1].split("\n```", 1)[0]
    (tmp_path / "policy.pdf").write_bytes(b"%PDF-1.4")
    sidecar = tmp_path / "policy.pdf.metadata.json"
    sidecar.write_text(example)
    assert check_sidecar(sidecar) == []


def test_nothing_outside_the_folder_and_nothing_hidden_is_uploaded(
    operator: Operator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside"
    (outside / "private").mkdir(parents=True)
    (outside / "secret.txt").write_text("the root password")
    (outside / "private" / "notes.txt").write_text("not for the knowledge base")
    folder = tmp_path / "mine"
    (folder / "guides").mkdir(parents=True)
    (folder / "guides" / "setup.txt").write_text("How to set up the app.")
    for hidden in (".git/config", ".aws/credentials", "guides/.env", ".notes.txt"):
        (folder / hidden).parent.mkdir(parents=True, exist_ok=True)
        (folder / hidden).write_text("[default]\naws_secret_access_key = hidden")
    (folder / "linked.txt").symlink_to(outside / "secret.txt")
    (folder / "linked-folder").symlink_to(outside / "private", target_is_directory=True)
    with outputs(operator):
        assert main([str(folder)], operator) == 0
    assert keys(operator) == ["documents/guides/setup.txt"]
    out = capsys.readouterr().out
    for skipped, why in ((".git", "hidden folder"), (".aws", "hidden folder"), ("guides/.env", "hidden file"),
                         (".notes.txt", "hidden file"), ("linked.txt", "symbolic link"),
                         ("linked-folder", "symbolic link")):  # fmt: skip
        assert f"skipped {folder / skipped} ({why})" in out
    assert "uploaded 1 file(s), 0 of them sidecars, skipped 6" in out


def test_a_sidecar_behind_a_link_or_in_a_hidden_folder_is_not_checked(tmp_path: Path) -> None:
    from scripts.check_sidecars import check_folder

    (tmp_path / ".drafts").mkdir()
    (tmp_path / ".drafts" / "a.txt.metadata.json").write_text("not even JSON")
    (tmp_path / "b.txt.metadata.json").symlink_to(tmp_path / ".drafts" / "a.txt.metadata.json")
    assert check_folder(tmp_path) == []


def test_a_dry_run_checks_and_lists_offline(tmp_path: Path) -> None:
    from tests.support.user_shell import run_as_user

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("Our refund policy is 30 days.")
    (folder / ".env").write_text("TOKEN=x")
    result = run_as_user([sys.executable, "-m", "scripts.upload_documents", str(folder), "--dry-run"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"would upload {folder / 'notes.txt'} -> documents/notes.txt" in result.stdout
    assert f"skipped {folder / '.env'} (hidden file)" in result.stdout
    assert "the bucket is not looked up (no AWS Region is configured)" in result.stdout
    bad = folder / "notes.txt.metadata.json"
    bad.write_text("{}")
    refused = run_as_user([sys.executable, "-m", "scripts.upload_documents", str(folder), "--dry-run"], tmp_path)
    assert refused.returncode == 2 and "sidecar problem(s), nothing uploaded" in refused.stderr
