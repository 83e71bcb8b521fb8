"""Third-party scanners over the synthesized templates: Checkov here, cdk-nag on every synthesis (test_nag).

Checkov runs from its own pinned virtualenv (``make test`` creates ``.venv-checkov``), offline
(``--skip-download``), once over every variant's templates.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    BULK_KEYS,
    BULK_OFFSETS,
    CUSTOMER_MANAGED,
    EXISTING_CLUSTER,
    EXISTING_KEY_ARN,
    OIDC_API,
    PER_KEY_TICKERS,
    QUERY_FEATURES,
    REPO_ROOT,
    SCHEMA_REGISTRY_ARN,
    Synthesized,
)

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
# The settings variants other tests synthesize, plus customer-managed encryption.
VARIANTS: dict[str, dict[str, Any]] = {
    "dev": {},
    "prod": {"lifecycleMode": "prod"},
    "query-features": QUERY_FEATURES,
    "oidc-api": {**OIDC_API, "lifecycleMode": "prod"},
    "customer-managed": CUSTOMER_MANAGED,
    "existing-key": {"encryption": "customer-managed", "encryptionKeyArn": EXISTING_KEY_ARN, "lifecycleMode": "prod"},
    "existing-cluster": {**EXISTING_CLUSTER, "endpointAzCount": 2},
    "provisioned": {"streamPollerMode": "provisioned", "streamDocument": PER_KEY_TICKERS,
                    "streamSchemaRegistryArn": SCHEMA_REGISTRY_ARN,
                    "githubRepository": "org/repo", "alarmEmail": "ops@example.com"},
    "bulk-offsets": BULK_OFFSETS,
    "bulk-keys-customer-managed": {**CUSTOMER_MANAGED, **BULK_KEYS},
}  # fmt: skip


def run_checkov(files: list[Path]) -> list[dict[str, Any]]:
    if not CHECKOV.exists():
        pytest.fail("Checkov is not installed: run `make setup`")
    command = [str(CHECKOV), "--framework", "cloudformation", "--output", "json", "--compact", "--skip-download"]
    for file in files:
        command += ["--file", str(file)]
    finished = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    if not finished.stdout.strip():
        pytest.fail(f"Checkov printed no report: {finished.stderr[-2000:]}")
    report = json.loads(finished.stdout)
    return report if isinstance(report, list) else [report]


def checks(reports: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [check for report in reports for check in report.get("results", {}).get(kind, [])]


@pytest.fixture(scope="module")
def variant_templates(synth: Callable[..., Synthesized]) -> dict[str, list[Path]]:
    return {name: sorted(Path(synth(**overrides).outdir).glob("*.template.json")) for name, overrides in
            VARIANTS.items()}  # fmt: skip


@pytest.fixture(scope="module")
def careless_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A template with what Checkov is here to catch: queue, logs and topic without a customer-managed key."""
    template = tmp_path_factory.mktemp("careless") / "careless.template.json"
    template.write_text(json.dumps({"Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}},
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
    }}))  # fmt: skip
    return template


@pytest.fixture(scope="module")
def reports(variant_templates: dict[str, list[Path]], careless_template: Path) -> list[dict[str, Any]]:
    """One Checkov run (its start-up is most of its time) over every variant's templates and the careless one."""
    return run_checkov([*(file for files in variant_templates.values() for file in files), careless_template])


def app_checks(reports: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [check for check in checks(reports, kind) if not check["file_abs_path"].endswith("careless.template.json")]


def test_checkov_finds_nothing_unacknowledged_in_any_variant(
    reports: list[dict[str, Any]], variant_templates: dict[str, list[Path]]
) -> None:
    variant_of = {str(file.parent): name for name, files in variant_templates.items() for file in files}
    failed = [f"{variant_of.get(str(Path(check['file_abs_path']).parent), '?')}: {check['check_id']} "
              f"{check['resource']} ({Path(check['file_path']).name})"
              for check in app_checks(reports, "failed_checks")]  # fmt: skip
    assert failed == []


def test_checkov_checked_every_template(
    reports: list[dict[str, Any]], variant_templates: dict[str, list[Path]]
) -> None:
    seen = {check["file_abs_path"] for kind in ("passed_checks", "skipped_checks") for check in checks(reports, kind)}
    expected = {str(file) for files in variant_templates.values() for file in files}
    assert expected <= seen
    assert len(app_checks(reports, "passed_checks")) > 1000


def test_every_skip_is_on_one_resource_with_its_reason(reports: list[dict[str, Any]]) -> None:
    skipped = app_checks(reports, "skipped_checks")
    assert skipped
    without_reason = [f"{check['check_id']} {check['resource']}" for check in skipped
                      if len(str(check["check_result"].get("suppress_comment", "")).strip()) < 20]  # fmt: skip
    assert without_reason == []


def test_customer_managed_encryption_needs_no_encryption_skip(
    reports: list[dict[str, Any]], variant_templates: dict[str, list[Path]]
) -> None:
    encryption_checks = {"CKV_AWS_26", "CKV_AWS_27", "CKV_AWS_158"}
    files = {str(file) for name in ("customer-managed", "existing-key") for file in variant_templates[name]}
    skipped = [check for check in checks(reports, "skipped_checks")
               if check["file_abs_path"] in files and check["check_id"] in encryption_checks]  # fmt: skip
    passed = {check["check_id"] for check in checks(reports, "passed_checks") if check["file_abs_path"] in files}
    assert skipped == []
    assert encryption_checks <= passed


def test_checkov_catches_what_it_is_here_for(reports: list[dict[str, Any]], careless_template: Path) -> None:
    failed = {check["check_id"] for check in checks(reports, "failed_checks")
              if check["file_abs_path"] == str(careless_template)}  # fmt: skip
    assert {"CKV_AWS_27", "CKV_AWS_158", "CKV_AWS_26"} <= failed
