"""The import contracts in pyproject.toml: which package may import which, checked by import-linter."""

from __future__ import annotations

import logging
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
    assert "Contracts: 5 kept, 0 broken." in report, report
    assert status == EXIT_STATUS_SUCCESS, report
