"""cdk-nag AwsSolutions gates every synthesis of the app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_sqs as sqs

from stacks.application import build_app
from stacks.settings import load_settings
from tests.conftest import CDK_CONTEXT, Synthesized


def test_the_app_synthesizes_with_every_finding_fixed_or_acknowledged(app: Synthesized) -> None:
    report = app.outdir / "validation-report.json"
    if report.exists():
        content = json.loads(report.read_text())
        assert all(plugin.get("conclusion") != "failure" for plugin in content.get("pluginReports", []))


def test_an_unacknowledged_finding_fails_synthesis(tmp_path: Path) -> None:
    app = App(context={**CDK_CONTEXT, "aws:cdk:bundling-stacks": []}, outdir=str(tmp_path))
    build_app(app, load_settings(app.node.get_all_context()))
    sqs.Queue(Stack(app, "Careless"), "QueueWithoutDeadLetterQueue")  # AwsSolutions-SQS3 and SQS4
    with pytest.raises(RuntimeError, match=r"ValidationFailed|Validation failed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {violation["ruleName"] for plugin in report["pluginReports"] for violation in plugin["violations"]}
    assert {"AwsSolutions-SQS3", "AwsSolutions-SQS4"} <= rules
    paths = {
        construct["constructPath"]
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    }
    assert all(path.startswith("Careless/") for path in paths), paths


def test_the_serverless_pack_runs_on_every_synthesis(tmp_path: Path) -> None:
    from aws_cdk import aws_lambda as lambda_

    app = App(context={**CDK_CONTEXT, "aws:cdk:bundling-stacks": []}, outdir=str(tmp_path))
    build_app(app, load_settings(app.node.get_all_context()))
    lambda_.Function(Stack(app, "Bare"), "NoMemoryNoTracing", runtime=lambda_.Runtime.PYTHON_3_14,
                     handler="index.handler", code=lambda_.Code.from_inline("def handler(e, c): pass"))  # fmt: skip
    with pytest.raises(RuntimeError, match=r"ValidationFailed|Validation failed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {violation["ruleName"] for plugin in report["pluginReports"] for violation in plugin["violations"]}
    assert {"Serverless-LambdaDefaultMemorySize", "Serverless-LambdaTracing", "Serverless-LambdaDLQ"} <= rules
    paths = {construct["constructPath"] for plugin in report["pluginReports"]
             for violation in plugin["violations"] for construct in violation["violatingConstructs"]}  # fmt: skip
    assert all(path.startswith("Bare/") for path in paths), paths
