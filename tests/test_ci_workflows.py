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

from stacks.foundation.operator_policy import operator_policy
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
    assert runs[:2] == ["make synth", "make test"]
    # A pull request's job summary says what deploying it would replace, against the branch it targets.
    (planning,) = [step for step in steps if "make plan" in step.get("run", "")]
    assert planning["if"] == "github.event_name == 'pull_request'"
    assert '--revision origin/$BASE_REF --markdown" >> "$GITHUB_STEP_SUMMARY"' in planning["run"]
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


DEPLOY = REPO_ROOT / ".github" / "workflows" / "deploy.yml"


def runs(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def test_deploy_synthesizes_once_and_deploys_that_assembly_to_dev_then_prod() -> None:
    workflow = load(DEPLOY)
    assert set(workflow["on"]) == {"push", "workflow_dispatch"}
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["concurrency"]["cancel-in-progress"] is False
    jobs = workflow["jobs"]
    assert list(jobs) == ["synth", "deploy-dev", "deploy-prod"]
    assert (jobs["deploy-dev"]["needs"], jobs["deploy-prod"]["needs"]) == ("synth", "deploy-dev")
    # One synthesis, of every environment; the deploy jobs only download it.
    assert runs(jobs["synth"]) == ["make synth ENV=all\nmake test\n"]
    upload = next(step for step in jobs["synth"]["steps"] if "upload-artifact" in step.get("uses", ""))
    for name in ("deploy-dev", "deploy-prod"):
        assert not any("make synth" in run for run in runs(jobs[name])), name
        download = next(step for step in jobs[name]["steps"] if "download-artifact" in step.get("uses", ""))
        assert (download["with"]["name"], download["with"]["path"]) == (upload["with"]["name"], "cdk.out")
    assert runs(jobs["deploy-dev"])[0] == "make deploy-assembly ENV=dev"
    assert runs(jobs["deploy-prod"]) == ["make deploy-assembly ENV=prod"]


def test_production_waits_for_the_dev_smoke_test_and_says_why_it_did_not_deploy() -> None:
    jobs = load(DEPLOY)["jobs"]
    dev_steps = runs(jobs["deploy-dev"])
    smoke = dev_steps[-1]
    assert dev_steps.index(smoke) > dev_steps.index("make deploy-assembly ENV=dev")
    assert 'make doctor ENV=dev ARGS="--probe"' in smoke and "exit 1" in smoke  # a failed probe fails the job
    assert "GITHUB_STEP_SUMMARY" in smoke and "production was not deployed" in smoke
    assert jobs["deploy-prod"]["environment"] == "production"  # reviewers approve it in GitHub


def test_each_deployment_uses_oidc_with_its_own_environments_role_and_nothing_else_may() -> None:
    workflow = load(DEPLOY)
    assert workflow["permissions"] == {"contents": "read"}  # no job gets an OIDC token unless it says so
    assert "permissions" not in workflow["jobs"]["synth"]
    for name, environment in (("deploy-dev", "dev"), ("deploy-prod", "production")):
        job = workflow["jobs"][name]
        assert job["environment"] == environment
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
        credentials = next(step for step in job["steps"] if step.get("uses", "").startswith("aws-actions/"))
        # An environment's variables: each environment names its own role (its deploy-role stack's output).
        assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"


@pytest.mark.parametrize("target", ["synth", "deploy", "diff", "destroy"])
def test_the_cdk_targets_take_args_and_an_environment(target: str) -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    recipe = makefile.split(f"\n{target}:", 1)[1].split("\n\n", 1)[0]
    command = next(line for line in recipe.splitlines() if "$(CDK)" in line)
    assert command.rstrip().endswith("$(ENV_CONTEXT) $(ARGS)"), command
    assert "--all" not in command or target != "diff"  # cdk diff takes no --all: it compares every stack


def test_the_makefile_deploys_one_stage_of_the_synthesized_assembly() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    recipe = makefile.split("deploy-assembly:", 1)[1].split("\n\n", 1)[0]
    assert "--app cdk.out '$(ENV)/*'" in recipe and "synth" not in recipe.split("\n", 1)[1]


def test_no_deploy_role_stack_unless_configured(app: Synthesized) -> None:
    assert app.stacks.deploy_role is None
    assert "DeployRole" not in app.templates


def deploy_role(app: Synthesized) -> dict[str, Any]:
    (role,) = resources_of_type(app.template("DeployRole"), "AWS::IAM::Role").values()
    return role


def test_deploy_role_trusts_one_repository_and_may_only_assume_the_bootstrap_roles_and_smoke_test(
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
    # And what the smoke test does, as an operator: exactly the operator policy (make doctor --print-policy).
    (smoke_test,) = resources_of_type(template, "AWS::IAM::ManagedPolicy").values()

    def actions(statement: dict[str, Any]) -> dict[str, Any]:  # CDK sorts a statement's actions
        listed = statement["Action"]
        return {**statement, "Action": sorted(listed) if isinstance(listed, list) else listed}

    synthesized = smoke_test["Properties"]["PolicyDocument"]["Statement"]
    assert [actions(s) for s in synthesized] == [
        actions(s) for s in operator_policy(app.settings.name_prefix)["Statement"]
    ]


def test_an_existing_oidc_provider_is_reused(synth: Callable[..., Synthesized]) -> None:
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    app = synth(githubRepository="example-org/kb-stream", githubOidcProviderArn=arn)
    assert resources_of_type(app.template("DeployRole"), "AWS::IAM::OIDCProvider") == {}
    trust = deploy_role(app)["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Federated": arn}
