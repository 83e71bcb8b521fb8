"""The GitHub workflows pass actionlint, deploy with OIDC only, and the optional deploy role is minimal."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT, Synthesized
from tests.support.templates import render, resources_of_type

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$")


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    # YAML 1.1 reads the key "on" as True.
    document["on"] = document.pop(True, document.get("on"))
    return document


def test_workflows_pass_actionlint() -> None:
    actionlint = shutil.which("actionlint")
    assert actionlint, "actionlint is installed by requirements-dev.txt"
    result = subprocess.run([actionlint, "-no-color", *map(str, WORKFLOWS)], capture_output=True, text=True,
                            check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=[path.name for path in WORKFLOWS])
def test_actions_are_pinned_and_no_long_lived_keys_are_used(path: Path) -> None:
    text = path.read_text()
    uses = re.findall(r"uses:\s*(\S+)", text)
    assert uses and all(PINNED.fullmatch(action) for action in uses), uses
    assert "AWS_ACCESS_KEY_ID" not in text and "aws-secret-access-key" not in text


def test_ci_runs_the_readme_commands_and_keeps_the_assembly() -> None:
    workflow = load(REPO_ROOT / ".github" / "workflows" / "ci.yml")
    assert set(workflow["on"]) == {"pull_request", "push"}
    steps = workflow["jobs"]["test"]["steps"]
    runs = [step.get("run") for step in steps if "run" in step]
    assert runs == ["make synth", "make test"]
    actions = [step["uses"].split("@")[0] for step in steps if "uses" in step]
    assert {"actions/setup-python", "actions/setup-node", "actions/upload-artifact"} <= set(actions)


def test_ci_also_runs_the_tests_on_the_functions_runtime_python() -> None:
    from devtools.lambda_platform import RUNTIME_PYTHON
    from stacks.constructs.functions import RUNTIME

    assert RUNTIME.name == f"python{RUNTIME_PYTHON}"  # what the stacks deploy
    job = load(REPO_ROOT / ".github" / "workflows" / "ci.yml")["jobs"]["test-on-function-runtime"]
    (python,) = [step["with"]["python-version"] for step in job["steps"] if "setup-python" in step.get("uses", "")]
    assert python == RUNTIME_PYTHON
    assert [step.get("run") for step in job["steps"] if "run" in step] == ["make setup", "make unit"]


def test_deploy_uses_oidc_an_environment_and_one_deployment_at_a_time() -> None:
    workflow = load(REPO_ROOT / ".github" / "workflows" / "deploy.yml")
    assert set(workflow["on"]) == {"push", "workflow_dispatch"}
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["permissions"]["id-token"] == "write"
    assert workflow["concurrency"]["cancel-in-progress"] is False
    job = workflow["jobs"]["deploy"]
    assert job["environment"] == "production"
    credentials = next(step for step in job["steps"] if step.get("uses", "").startswith("aws-actions/"))
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert job["steps"][-1]["run"] == "make deploy"


def test_no_deploy_role_stack_unless_configured(app: Synthesized) -> None:
    assert app.stacks.deploy_role is None
    assert "DeployRole" not in app.templates


def deploy_role(app: Synthesized) -> dict[str, Any]:
    (role,) = resources_of_type(app.template("DeployRole"), "AWS::IAM::Role").values()
    return role


def test_deploy_role_trusts_one_repository_and_may_only_assume_the_bootstrap_roles(
    synth: Callable[..., Synthesized],
) -> None:
    app = synth(githubRepository="example-org/kb-stream", githubBranch="main", githubEnvironment="production")
    template = app.template("DeployRole")
    (provider,) = resources_of_type(template, "AWS::IAM::OIDCProvider").values()
    assert provider["Properties"]["Url"] == "https://token.actions.githubusercontent.com"
    trust = deploy_role(app)["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert len(trust) == 1 and trust[0]["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust[0]["Condition"] == {
        "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
        "ForAnyValue:StringEquals": {"token.actions.githubusercontent.com:sub": [
            "repo:example-org/kb-stream:environment:production",
            "repo:example-org/kb-stream:ref:refs/heads/main",
        ]},
    }  # fmt: skip
    (policy,) = resources_of_type(template, "AWS::IAM::Policy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert sorted(render(statement["Resource"])) == [
        f"arn:aws:iam::123456789012:role/cdk-hnb659fds-{role}-role-123456789012-us-east-1"
        for role in ("deploy", "file-publishing", "image-publishing", "lookup")
    ]


def test_an_existing_oidc_provider_is_reused(synth: Callable[..., Synthesized]) -> None:
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    app = synth(githubRepository="example-org/kb-stream", githubOidcProviderArn=arn)
    assert resources_of_type(app.template("DeployRole"), "AWS::IAM::OIDCProvider") == {}
    trust = deploy_role(app)["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Federated": arn}
