"""cfn-lint over every synthesized template, in the regions the app targets."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_by_config

from tests.conftest import SCANNED_VARIANTS, ScannedTemplates

REGIONS = ["us-east-1", "us-west-2", "eu-central-1", "ap-northeast-1"]
# CDK adds DependsOn next to a Ref/GetAtt it already implies; harmless and not ours to change.
IGNORED = ["W3005"]


@pytest.fixture(scope="module")
def careless_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A template with what cfn-lint is here to catch: a property the resource type does not have, a value below
    the type's minimum."""
    template = tmp_path_factory.mktemp("careless") / "careless.template.json"
    template.write_text(json.dumps({"Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"MessageRetentionPeriod": 10, "Bogus": True}},
    }}))  # fmt: skip
    return template


@pytest.fixture(scope="module")
def findings(scanned_templates: ScannedTemplates, careless_template: Path) -> dict[str, list[str]]:
    """cfn-lint's findings by file, from one run over every distinct template: setting up its rules is most of the
    time a run takes per template (tests/conftest.py keeps this module and the variants' syntheses on one worker)."""
    files = [*scanned_templates.distinct, careless_template]
    found: dict[str, list[str]] = defaultdict(list)
    for match in lint_by_config(ManualArgs(templates=[str(file) for file in files], regions=REGIONS,
                                           ignore_checks=IGNORED)):  # fmt: skip
        found[match.filename].append(f"{match.rule.id} {match.message} ({match.path_string})")
    unattributed = {name: problems for name, problems in found.items() if name not in {str(file) for file in files}}
    assert unattributed == {}, "cfn-lint reported on no template it was given (its configuration?)"
    return found


@pytest.mark.parametrize("variant", SCANNED_VARIANTS)
def test_templates_have_no_errors_or_warnings(
    findings: dict[str, list[str]], scanned_templates: ScannedTemplates, variant: str
) -> None:
    files = scanned_templates.by_variant[variant]
    assert [f"{file.name}: {finding}" for file in files
            for finding in findings[str(scanned_templates.first_of[file])]] == []  # fmt: skip


def test_cfn_lint_catches_what_it_is_here_for(findings: dict[str, list[str]], careless_template: Path) -> None:
    rules = {finding.split()[0] for finding in findings[str(careless_template)]}
    assert {"E3002", "E3034"} <= rules
