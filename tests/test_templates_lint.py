"""cfn-lint over every synthesized template, in the regions the app targets."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file

from tests.conftest import (
    BULK_KEYS,
    BULK_OFFSETS,
    CUSTOMER_MANAGED,
    EXISTING_CLUSTER,
    OIDC_API,
    PER_KEY_TICKERS,
    QUERY_FEATURES,
    SCHEMA_REGISTRY_ARN,
    Synthesized,
)

REGIONS = ["us-east-1", "us-west-2", "eu-central-1", "ap-northeast-1"]
# CDK adds DependsOn next to a Ref/GetAtt it already implies; harmless and not ours to change.
IGNORED = ["W3005"]


@pytest.mark.parametrize(
    "variant",
    [
        {},
        {"lifecycleMode": "prod"},
        {"chunkingStrategy": "HIERARCHICAL"},
        {"chunkingStrategy": "SEMANTIC"},
        {**EXISTING_CLUSTER, "endpointAzCount": 2},
        {
            "streamPollerMode": "provisioned",
            "streamDocument": PER_KEY_TICKERS,
            "streamSchemaRegistryArn": SCHEMA_REGISTRY_ARN,
            "streamChunkingStrategy": "FIXED_SIZE",
            "githubRepository": "org/repo",
            "alarmEmail": "ops@example.com",
        },
        QUERY_FEATURES,
        {**OIDC_API, "lifecycleMode": "prod"},
        CUSTOMER_MANAGED,
        BULK_OFFSETS,
        {**CUSTOMER_MANAGED, **BULK_KEYS},
    ],
    ids=[
        "dev",
        "prod",
        "hierarchical",
        "semantic",
        "existing-cluster",
        "provisioned",
        "query-features",
        "oidc-api",
        "customer-managed",
        "bulk-offsets",
        "bulk-keys-customer-managed",
    ],
)
def test_templates_have_no_errors_or_warnings(synth: Callable[..., Synthesized], variant: dict[str, str]) -> None:
    app = synth(**variant)
    templates = sorted(Path(app.outdir).glob("*.template.json"))
    assert len(templates) == len(app.templates)
    findings = [f"{path.name}: {finding}" for path in templates for finding in lint(path)]
    assert findings == []


_findings: dict[str, list[str]] = {}


def lint(template: Path) -> list[str]:
    """cfn-lint's findings for a template, by its content: most templates are the same in several variants, and one
    worker runs this module (tests/conftest.py SHARED_WORKER_MODULES), so each is linted once."""
    key = hashlib.sha256(template.read_bytes()).hexdigest()
    if key not in _findings:
        matches = lint_file(template, ManualArgs(regions=REGIONS, ignore_checks=IGNORED))
        _findings[key] = [f"{match.rule.id} {match.message} ({match.path_string})" for match in matches]
    return _findings[key]
