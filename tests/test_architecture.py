"""The import contracts in pyproject.toml: which package may import which, checked by import-linter."""

from __future__ import annotations

import ast
import logging
import tomllib
from pathlib import Path

import pytest
from importlinter.cli import EXIT_STATUS_SUCCESS, lint_imports

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept(capsys: pytest.CaptureFixture[str]) -> None:
    # import-linter configures logging with dictConfig, which disables every logger that exists already
    # (the functions' Powertools loggers among them): give the tests that follow their loggers back.
    existing = [logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)]
    enabled = [logger for logger in existing if not logger.disabled]
    try:
        status = lint_imports(config_filename=str(REPO_ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    finally:
        for logger in enabled:
            logger.disabled = False
    report = capsys.readouterr().out
    contracts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert f"Contracts: {len(contracts)} kept, 0 broken." in report, report
    assert status == EXIT_STATUS_SUCCESS, report


def test_mypy_checks_every_aws_cdk_module_the_code_imports() -> None:
    """mypy skips aws-cdk-lib's modules the code never imports (pyproject.toml); those it imports stay checked."""
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["overrides"]
    checked = {module for override in config if override.get("follow_imports") == "normal"
               for module in override["module"]}  # fmt: skip
    imported: set[str] = set()
    for path in REPO_ROOT.glob("**/*.py"):
        if {".venv", ".venv-checkov", "node_modules", "cdk.out", "build"} & set(path.relative_to(REPO_ROOT).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "aws_cdk":
                imported.add(node.module)
                imported |= {f"aws_cdk.{alias.name}" for alias in node.names
                             if node.module == "aws_cdk" and alias.name.islower()}  # fmt: skip
            elif isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names if alias.name.split(".")[0] == "aws_cdk"}
    assert imported <= checked, f"add to pyproject.toml's mypy overrides: {sorted(imported - checked)}"
