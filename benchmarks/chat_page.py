"""The chat page's weight and how fast an answer appears, in Debian's headless Chromium against make chat-local.

    python -m benchmarks.chat_page [--latency 0.5] [--screenshot docs/chat.png]   (make chat-benchmark)

Page weight is what a first visit downloads of JavaScript and CSS, gzip-compressed as CloudFront serves it.
The answer time is measured inside the page, from the Enter key to the answer in the conversation, for the first
question (which also pays the function's first AWS client) and for a follow-up. The fake knowledge base answers
after ``--latency`` seconds, so the page's own share is the difference. The answer arrives whole:
the page asks the HTTPS API, which returns the function's answer at once. The script measures and prints; it
asserts nothing.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from devtools.settings_docs import REPO_ROOT
from scripts.chat_local import chat_local


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.5, help="the fake knowledge base's answer delay (s)")
    parser.add_argument("--screenshot", type=Path, help="also save a screenshot of the conversation here")
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        page = Path(scratch) / "chat"
        subprocess.run([shutil.which("node") or "node", str(REPO_ROOT / "web" / "chat" / "build.mjs"), str(page)],
                       check=True, capture_output=True)  # fmt: skip
        weight = {name: len(gzip.compress((page / name).read_bytes(), 9)) for name in ("app.js", "app.css")}
        screenshot = str(arguments.screenshot or Path(scratch) / "chat.png")
        with chat_local(port=0, page=page, latency_seconds=arguments.latency) as chat:
            done = subprocess.run(["node", str(REPO_ROOT / "tests" / "browser" / "chat_page.mjs"), f"{chat.url}/",
                                   screenshot], capture_output=True, text=True, check=True, cwd=REPO_ROOT)  # fmt: skip
        steps = json.loads(done.stdout.strip().splitlines()[-1])["steps"]
    delay = arguments.latency * 1000
    print(f"page weight (gzip): {weight['app.js']:,} B JavaScript + {weight['app.css']:,} B CSS = "
          f"{sum(weight.values()) / 1024:.1f} KB")  # fmt: skip
    for name, key in (("first question (the function's first invocation)", "firstAnswerMs"),
                      ("follow-up", "followUpMs")):  # fmt: skip
        print(f"{name}: Enter to the answer on screen {steps[key]} ms, of which the fake's delay {delay:.0f} ms; "
              f"the page, the local API and the function: {steps[key] - delay:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
