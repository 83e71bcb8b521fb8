"""Commands run as a user runs them: a subprocess from the repository root, in a fresh environment.

The environment is this machine's (its PATH, locale, proxies and certificate settings, so that package registries
answer as they do for the user) without any AWS setting: no credentials, Region or profile, the AWS configuration
files pointed at files that do not exist, and the instance metadata service switched off, as on a newcomer's
machine that has never run ``aws configure``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Certificate settings are kept: they say how to reach a registry, nothing about an AWS account.
_KEPT_AWS = ("AWS_CA_BUNDLE",)


def fresh_environment(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """No AWS settings at all; the virtualenv's interpreter first on PATH, as ``make`` puts it."""
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith("AWS_") or name in _KEPT_AWS}  # fmt: skip
    # Nor what the test run itself sets: make's own variables (the tests may run under make unit) and CDK's.
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "CDK_CONTEXT_JSON", "CDK_OUTDIR", "CI", "MAKEFLAGS", "MAKELEVEL",
                 "MFLAGS"):  # fmt: skip
        environment.pop(name, None)
    environment["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), environment.get("PATH", "")])
    environment["AWS_CONFIG_FILE"] = str(home / "no-aws-config")
    environment["AWS_SHARED_CREDENTIALS_FILE"] = str(home / "no-aws-credentials")
    environment["AWS_EC2_METADATA_DISABLED"] = "true"
    environment.update(extra or {})
    return environment


def run_as_user(command: Sequence[str], home: Path, *, extra_env: Mapping[str, str] | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(list(command), cwd=REPO_ROOT, env=fresh_environment(home, extra_env), capture_output=True,
                          text=True, timeout=timeout, check=False)  # fmt: skip
