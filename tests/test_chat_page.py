"""The chat page in a real browser: Debian's headless Chromium, driven by playwright-core, against make chat-local's
stand-ins (local sign-in with PKCE, the query function behind the JWT authorizer and the WebSocket API with its
token authorizer, the fake knowledge base streaming its answers), under the security headers CloudFront sends."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from devtools.settings_docs import REPO_ROOT
from scripts.chat_local import chat_local

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
INSTALL = "sudo apt-get install -y chromium (Debian and Ubuntu), then make test"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium for the browser tests: {INSTALL}")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The page as make chat-build builds it (esbuild from npm), into a folder of this test run."""
    out = tmp_path_factory.mktemp("chat")
    subprocess.run(
        [shutil.which("node") or "node", str(REPO_ROOT / "web" / "chat" / "build.mjs"), str(out)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return out


@pytest.fixture(scope="module")
def browsed(page: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    screenshot = tmp_path_factory.mktemp("screens") / "chat.png"
    with chat_local(port=0, page=page) as chat:
        done = subprocess.run(
            ["node", str(REPO_ROOT / "tests" / "browser" / "chat_page.mjs"), f"{chat.url}/", str(screenshot)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO_ROOT,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        seen: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        seen["tokensIssued"] = list(chat.tokens_issued)
    seen["screenshot"] = screenshot
    return seen


def test_a_person_signs_in_with_pkce_and_sees_their_group(browsed: dict[str, Any]) -> None:
    steps = browsed["steps"]
    assert steps["signedOutNotice"] == "Sign in to ask the knowledge base."
    assert steps["who"] == "staff@example.com (staff)" and browsed["tokensIssued"] == ["staff"]
    assert steps["sessionStorage"] == ["kb-chat"] and steps["localStorage"] == [], "tokens never in localStorage"


def test_an_answer_appears_as_it_is_generated_then_shows_its_numbered_sources(browsed: dict[str, Any]) -> None:
    steps = browsed["steps"]
    # The page showed the answer growing, piece by piece, over the WebSocket API, before the whole of it.
    assert steps["first"]["streamedTexts"] >= 2 and steps["followUpTiming"]["streamedTexts"] >= 1
    assert steps["firstAnswer"].startswith("A dedicated climate-tech practice") and steps["firstAnswer"].endswith("[1]")
    assert steps["firstSources"] == ["Aurora Dynamics launches a climate-tech practice"]
    (link,) = steps["firstLinks"]
    assert link.startswith("https://") and "aurora_press_announcement.txt" in link and "X-Amz-Expires=300" in link
    assert steps["followUp"].startswith("From Seattle and the Dublin, Singapore and Toronto delivery centres.")


def test_a_refused_filter_is_explained(browsed: dict[str, Any]) -> None:
    steps = browsed["steps"]
    assert steps["chips"] == ["published_at > soon ✕"]
    assert (
        steps["refused"] == "The question or its filter was refused: where: filter.greaterThan.value must be a number"
    )
    assert steps["refusedIsAlert"]


def test_the_page_runs_under_its_content_security_policy_and_passes_axe(browsed: dict[str, Any]) -> None:
    assert browsed["cspViolations"] == []
    serious = [violation for violation in browsed["violations"] if violation["impact"] in {"serious", "critical"}]
    assert serious == [], serious
    assert browsed["screenshot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_page_is_small_and_has_no_third_party_assets(page: Path) -> None:
    shipped = {path.name: path.read_bytes() for path in page.iterdir()}
    assert set(shipped) == {"index.html", "app.js", "app.css"}
    compressed = sum(len(gzip.compress(shipped[name])) for name in ("app.js", "app.css"))
    assert compressed < 150 * 1024
    assert b"http://" not in shipped["index.html"] and b"https://" not in shipped["index.html"]


def test_where_websockets_are_blocked_the_page_asks_over_https_and_answers_whole(page: Path) -> None:
    with chat_local(port=0, page=page, websockets_blocked=True) as chat:
        done = subprocess.run(
            ["node", str(REPO_ROOT / "tests" / "browser" / "chat_page.mjs"), f"{chat.url}/", "", "first-answer-only"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO_ROOT,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    steps = json.loads(done.stdout.strip().splitlines()[-1])["steps"]
    assert steps["first"]["streamedTexts"] == 0, "nothing streamed: the answer came whole, over HTTPS"
    assert steps["firstAnswer"].startswith("A dedicated climate-tech practice") and steps["firstAnswer"].endswith("[1]")
    assert steps["firstSources"] == ["Aurora Dynamics launches a climate-tech practice"]
