"""Commands run as a user runs them: a subprocess from the repository root, in a fresh environment.

The environment holds no AWS credentials, Region or profile, a home folder of its own (so nothing of the
developer's ``~/.aws`` is read) and the instance metadata service switched off, as on a newcomer's machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
_KEPT = ("PATH", "LANG", "LC_ALL", "TERM", "TMPDIR")


def fresh_environment(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """No AWS settings at all; the virtualenv's interpreter first on PATH, as ``make`` puts it."""
    environment = {name: os.environ[name] for name in _KEPT if name in os.environ}
    environment["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), environment.get("PATH", "")])
    environment["HOME"] = str(home)
    environment["AWS_CONFIG_FILE"] = str(home / "no-aws-config")
    environment["AWS_SHARED_CREDENTIALS_FILE"] = str(home / "no-aws-credentials")
    environment["AWS_EC2_METADATA_DISABLED"] = "true"
    environment["PYTHONDONTWRITEBYTECODE"] = "1"
    environment.update(extra or {})
    return environment


def run_as_user(command: Sequence[str], home: Path, *, extra_env: Mapping[str, str] | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(list(command), cwd=REPO_ROOT, env=fresh_environment(home, extra_env), capture_output=True,
                          text=True, timeout=timeout, check=False)  # fmt: skip
