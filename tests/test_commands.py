"""Every command the README and docs/ show, run exactly as shown, the way a user runs it: a subprocess from the
repository root in a fresh environment without AWS credentials, Region or profile (tests/support/user_shell.py).

Each shown command either works offline (exit 0, and it leaves the tracked files as they were) or, needing AWS,
fails with the operator commands' two-line error (``error: ...`` then ``  fix: ...``) and exit status 2. The CDK
CLI's own commands that need an account (deploy, destroy, diff, bootstrap) are run with ``make -n``: the
command line they would run is checked, not an account. ``.ci/run`` runs ``make synth`` and ``make test`` itself.
"""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.user_shell import REPO_ROOT, fresh_environment, run_as_user

DOCUMENTS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
_INLINE = re.compile(r"`((?:make|python -m) [^`]+)`")
_FENCE = re.compile(r"^```[a-z]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def shown_commands() -> list[str]:
    """Each distinct ``make ...`` or ``python -m ...`` command in the docs' code, as written."""
    found: dict[str, None] = {}
    for document in DOCUMENTS:
        text = document.read_text()
        for block in _FENCE.findall(text):
            for line in block.splitlines():
                command = line.strip()
                if command.startswith(("make ", "python -m ")):
                    found[re.sub(r"\s+#.*$", "", command)] = None
        for command in _INLINE.findall(text):
            found[" ".join(command.split())] = None  # a span may wrap across lines
    return list(found)


def target_of(command: str) -> str:
    words = shlex.split(command)
    return next(word for word in words[1:] if "=" not in word and not word.startswith("-"))


# How each make target shown is checked. The operator commands need AWS, except where their arguments say not.
NEEDS_AWS = {"sync", "doctor", "produce", "ask", "upload", "evaluate"}
OFFLINE = {"help", "cost", "evaluation-sample", "chat-build", "settings-docs", "plan", "preview"}
CDK_CLI = {"deploy", "destroy", "diff", "bootstrap", "deploy-assembly", "synth", "construct-tree"}
# Measurements and drawings take minutes or rewrite pictures: their command line and their module's --help.
MEASUREMENTS = {"benchmark": "benchmarks.stream_ingest", "chat-benchmark": "benchmarks.chat_page",
                "cold-start": "benchmarks.cold_start", "diagram": "devtools.dataflow"}  # fmt: skip
RUN_BY_CI = {"setup", "test", "lint", "typecheck", "unit"}
SERVERS = {"chat-local"}
OFFLINE_ARGUMENTS = ("--print-policy", "--dry-run")
PLACEHOLDER = re.compile(r"<[a-z ]+>|\[--")


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):.*##", (REPO_ROOT / "Makefile").read_text(), flags=re.MULTILINE))


def recipe_modules() -> dict[str, str]:
    """The module each make target runs (``python -m <module> ... $(ARGS)``)."""
    found: dict[str, str] = {}
    target = ""
    for line in (REPO_ROOT / "Makefile").read_text().splitlines():
        if match := re.match(r"^([a-z][a-z-]*):", line):
            target = match[1]
        elif match := re.match(r"^\t@?python -m ([a-z_.]+)", line):
            found.setdefault(target, match[1])
    return found


def invocation(command: str) -> tuple[str, ...]:
    """What a shown command runs, so that two spellings of one command run once: ``make doctor ARGS="--probe"``
    and ``make doctor ARGS=--probe``, or ``make cost ARGS=--write`` and ``python -m scripts.estimate_cost --write``."""
    words = shlex.split(command)
    if words[0] == "python":
        return ("python", *words[2:3], *words[3:])
    variables = dict(word.split("=", 1) for word in words[1:] if "=" in word)
    module = recipe_modules().get(target_of(command))
    if module and set(variables) <= {"ARGS"}:
        return ("python", module, *shlex.split(variables.get("ARGS", "")))
    return tuple(words)


def distinct(commands: list[str]) -> list[str]:
    seen: set[tuple[str, ...]] = set()
    kept = []
    for command in commands:
        if invocation(command) not in seen:
            seen.add(invocation(command))
            kept.append(command)
    return kept


COMMANDS = shown_commands()
MAKE_COMMANDS = distinct([command for command in COMMANDS if command.startswith("make ")])
MODULE_COMMANDS = [command for command in COMMANDS if command.startswith("python -m ")
                   and invocation(command) not in {invocation(shown) for shown in MAKE_COMMANDS}]  # fmt: skip


def test_the_docs_show_commands_and_every_make_target_they_show_exists_and_is_checked_here() -> None:
    assert len(MAKE_COMMANDS) > 40 and len(MODULE_COMMANDS) >= 5
    shown = {target_of(command) for command in MAKE_COMMANDS}
    assert shown <= make_targets()
    classified = NEEDS_AWS | OFFLINE | CDK_CLI | set(MEASUREMENTS) | RUN_BY_CI | SERVERS
    assert shown <= classified, f"say how these shown commands are checked: {sorted(shown - classified)}"
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert "make synth" in ci and "make test" in ci


@pytest.fixture
def tracked_files_kept() -> Iterator[None]:
    """The command leaves every tracked file as it was (a generated file rewritten identically is fine)."""
    before = subprocess.run(["git", "diff", "--binary"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    yield
    after = subprocess.run(["git", "diff", "--binary"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    assert after == before, "the command changed tracked files"


def assert_two_line_error(result: subprocess.CompletedProcess[str], command: str) -> None:
    lines = result.stderr.splitlines()
    errors = [index for index, line in enumerate(lines) if line.startswith(("error: ", "usage: "))]
    assert result.returncode == 2, f"{command}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, f"{command}:\n{result.stderr}"
    if any(lines[index].startswith("error: ") for index in errors):
        index = next(index for index in errors if lines[index].startswith("error: "))
        assert lines[index + 1].startswith("  fix: "), f"{command}:\n{result.stderr}"
    else:  # argparse's own usage error, also exit 2 and no traceback
        assert errors, f"{command}: no error line\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("command", [c for c in MAKE_COMMANDS if target_of(c) in NEEDS_AWS])
def test_a_command_that_needs_aws_says_what_is_missing_in_two_lines(
    command: str, tmp_path: Path, tracked_files_kept: None
) -> None:
    result = run_as_user(["bash", "-c", command], tmp_path, timeout=120)
    if any(argument in command for argument in OFFLINE_ARGUMENTS) and "my-docs" not in command:
        assert result.returncode == 0, f"{command}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    else:
        assert_two_line_error(result, command)


@pytest.mark.parametrize("command", [c for c in MAKE_COMMANDS if target_of(c) in OFFLINE])
def test_an_offline_command_works_without_aws(command: str, tmp_path: Path, tracked_files_kept: None) -> None:
    if target_of(command) == "plan" and not (REPO_ROOT / "cdk.out" / "manifest.json").exists():
        pytest.skip("make plan compares with the CLI's synthesis in cdk.out: make synth first (.ci/run does)")
    result = run_as_user(["bash", "-c", command], tmp_path, timeout=300)
    assert result.returncode == 0, f"{command}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr and "Node 20" not in result.stderr
    if command == "make plan":  # the app is unchanged since make synth: no phantom rows
        assert "Nothing would be replaced or deleted." in result.stdout, result.stdout
    if target_of(command) == "cost":  # the totals; docs/cost.md only with --write (tracked_files_kept: identical)
        assert "Monthly cost, us-east-1 list prices" in result.stdout and "Left idle" in result.stdout, result.stdout
        assert ("wrote " in result.stdout) == ("--write" in command), result.stdout
    if target_of(command) == "help":
        descriptions = {line.index(line.split()[2]) for line in result.stdout.splitlines() if line.strip()}
        assert len(descriptions) == 1, "make help's descriptions start in one column"


@pytest.mark.parametrize("command", [c for c in MAKE_COMMANDS if target_of(c) in CDK_CLI | set(MEASUREMENTS)])
def test_a_cdk_or_measuring_command_runs_the_command_line_it_documents(command: str, tmp_path: Path) -> None:
    words = shlex.split(command)
    result = run_as_user(["make", "-n", *words[1:]], tmp_path, timeout=60)
    assert result.returncode == 0, f"{command}: {result.stderr}"
    target = target_of(command)
    expected = MEASUREMENTS.get(target) or ("cdk-dia" if target == "construct-tree" else "cdk ")
    assert expected in result.stdout, result.stdout
    for word in words[1:]:
        if word.startswith("ENV=") and target != "deploy-assembly":
            assert f"-c app:environment={word.removeprefix('ENV=')}" in result.stdout
        if word.startswith("ARGS="):
            assert word.removeprefix("ARGS=") in result.stdout


MODULES = sorted({*MEASUREMENTS.values(), *re.findall(r"python -m ([a-z_.]+)", (REPO_ROOT / "Makefile").read_text()),
                  *(shlex.split(command)[2] for command in MODULE_COMMANDS)} - {"pip"})  # fmt: skip


@pytest.mark.parametrize("module", MODULES)
def test_every_module_answers_help_and_does_nothing_else(module: str, tmp_path: Path, tracked_files_kept: None) -> None:
    arguments = ["producer"] if module == "scripts.invoke_function" else []
    result = run_as_user([sys.executable, "-m", module, *arguments, "--help"], tmp_path, timeout=60)
    assert result.returncode == 0, f"{module}: {result.stderr}"
    assert result.stdout.startswith("usage: "), result.stdout[:200]


@pytest.mark.parametrize("command", MODULE_COMMANDS)
def test_a_shown_module_command_works_or_says_what_is_missing(
    command: str, tmp_path: Path, tracked_files_kept: None
) -> None:
    if PLACEHOLDER.search(command):
        pytest.skip("a synopsis of options, not a command: its module's --help is run instead")
    result = run_as_user(["bash", "-c", command], tmp_path, timeout=300)
    if result.returncode != 0:
        assert_two_line_error(result, command)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_make_chat_local_serves_the_page_until_stopped(tmp_path: Path) -> None:
    assert "make chat-local" in COMMANDS
    port = free_port()
    server = subprocess.Popen(["make", "chat-local", f"PORT={port}"], cwd=REPO_ROOT, env=fresh_environment(tmp_path),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)  # fmt: skip
    try:
        deadline, page = time.monotonic() + 60, ""
        while time.monotonic() < deadline and not page:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    page = response.read().decode()
            except OSError:
                time.sleep(0.3)
        assert "<html" in page.lower()
    finally:
        import os
        import signal

        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


def test_the_cdk_cli_builds_the_chat_page_before_every_synthesis(tmp_path: Path) -> None:
    """cdk.json's "build" runs before the CLI synthesizes (cdk synth, cdk deploy --all run directly), so webChat=on
    needs no make chat-build first: the command writes the page where the app reads it."""
    import json

    from stacks.application import CHAT_PAGE

    build = shlex.split(json.loads((REPO_ROOT / "cdk.json").read_text())["build"])
    assert build == ["node", "web/chat/build.mjs"]
    script = (REPO_ROOT / build[1]).read_text()
    assert 'join(here, "..", "..", "build", "chat")' in script and CHAT_PAGE == REPO_ROOT / "build" / "chat"
    result = run_as_user([*build, str(tmp_path / "chat")], tmp_path, timeout=60)  # the same script, elsewhere
    assert result.returncode == 0, result.stderr
    assert {"index.html", "app.js", "app.css"} <= {path.name for path in (tmp_path / "chat").iterdir()}
