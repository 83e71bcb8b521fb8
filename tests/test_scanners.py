"""Third-party scanners over the synthesized templates: Checkov here, cdk-nag on every synthesis (test_nag).

Checkov runs from its own pinned virtualenv (``make test`` creates ``.venv-checkov``), offline
(``--skip-download``), once over the distinct templates of every scanned variant (tests/conftest.py).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, ScannedTemplates

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"


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
def reports(scanned_templates: ScannedTemplates, careless_template: Path) -> list[dict[str, Any]]:
    """One Checkov run (its start-up is most of its time) over every distinct template of the scanned variants and
    the careless one."""
    return run_checkov([*scanned_templates.distinct, careless_template])


def app_checks(reports: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [check for check in checks(reports, kind) if not check["file_abs_path"].endswith("careless.template.json")]


def test_checkov_finds_nothing_unacknowledged_in_any_variant(
    reports: list[dict[str, Any]], scanned_templates: ScannedTemplates
) -> None:
    failed = [f"{', '.join(scanned_templates.variants_of(check['file_abs_path']))}: {check['check_id']} "
              f"{check['resource']} ({Path(check['file_path']).name})"
              for check in app_checks(reports, "failed_checks")]  # fmt: skip
    assert failed == []


def test_checkov_checked_every_template(reports: list[dict[str, Any]], scanned_templates: ScannedTemplates) -> None:
    seen = {check["file_abs_path"] for kind in ("passed_checks", "skipped_checks") for check in checks(reports, kind)}
    assert {str(file) for file in scanned_templates.distinct} <= seen
    assert len(app_checks(reports, "passed_checks")) > 1000


def test_every_skip_is_on_one_resource_with_its_reason(reports: list[dict[str, Any]]) -> None:
    skipped = app_checks(reports, "skipped_checks")
    assert skipped
    without_reason = [f"{check['check_id']} {check['resource']}" for check in skipped
                      if len(str(check["check_result"].get("suppress_comment", "")).strip()) < 20]  # fmt: skip
    assert without_reason == []


def test_customer_managed_encryption_needs_no_encryption_skip(
    reports: list[dict[str, Any]], scanned_templates: ScannedTemplates
) -> None:
    encryption_checks = {"CKV_AWS_26", "CKV_AWS_27", "CKV_AWS_158"}
    files = {str(scanned_templates.first_of[file]) for name in ("customer-managed", "existing-key")
             for file in scanned_templates.by_variant[name]}  # fmt: skip
    skipped = [check for check in checks(reports, "skipped_checks")
               if check["file_abs_path"] in files and check["check_id"] in encryption_checks]  # fmt: skip
    passed = {check["check_id"] for check in checks(reports, "passed_checks") if check["file_abs_path"] in files}
    assert skipped == []
    assert encryption_checks <= passed


def test_checkov_catches_what_it_is_here_for(reports: list[dict[str, Any]], careless_template: Path) -> None:
    failed = {check["check_id"] for check in checks(reports, "failed_checks")
              if check["file_abs_path"] == str(careless_template)}  # fmt: skip
    assert {"CKV_AWS_27", "CKV_AWS_158", "CKV_AWS_26"} <= failed
