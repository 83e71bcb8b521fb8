"""The chat page's weight and how fast an answer appears, in Debian's headless Chromium against make chat-local.

    python -m benchmarks.chat_page [--latency 0.5] [--screenshot docs/chat.png]   (make chat-benchmark)

Page weight is what a first visit downloads of JavaScript and CSS, gzip-compressed as CloudFront serves it.
The times are measured inside the page, from the Enter key to the first words of the answer on screen and to the
whole answer with its sources, for the first question (the function's first AWS clients; the page opened its
WebSocket connection at sign-in) and for a follow-up. The fake knowledge base sends its first piece of text after
``--latency`` seconds and the next ones every 20 ms, so the page's own share of the first words is the
difference. The script measures and prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import tempfile
import warnings
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
        # The browser script also asks a question the function refuses on purpose: its INFO log line is not the
        # benchmark's output (the function reads its log level when the handler is first imported, below).
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        with chat_local(port=0, page=page, latency_seconds=arguments.latency) as chat, warnings.catch_warnings():
            # The browser script also asks with a filter the function refuses (the page's alert is part of the run):
            # Powertools' "no metrics" warning for that invocation is not the benchmark's output.
            warnings.filterwarnings("ignore", message="No application metrics to publish")
            done = subprocess.run(["node", str(REPO_ROOT / "tests" / "browser" / "chat_page.mjs"), f"{chat.url}/",
                                   screenshot], capture_output=True, text=True, check=True, cwd=REPO_ROOT)  # fmt: skip
        steps = json.loads(done.stdout.strip().splitlines()[-1])["steps"]
    delay = arguments.latency * 1000
    print(f"page weight (gzip): {weight['app.js']:,} B JavaScript + {weight['app.css']:,} B CSS = "
          f"{sum(weight.values()) / 1024:.1f} KB")  # fmt: skip
    for name, key in (("first question (the function's first invocation)", "first"),
                      ("follow-up", "followUpTiming")):  # fmt: skip
        timing = steps[key]
        print(f"{name}: Enter to the first words {timing['firstWordsMs']} ms, of which the fake's first-chunk delay "
              f"{delay:.0f} ms, so the page, the local APIs and the function: {timing['firstWordsMs'] - delay:.0f} ms; "
              f"to the whole answer with its sources {timing['answerMs']} ms ({timing['streamedTexts']} partial "
              "texts shown)")  # fmt: skip


if __name__ == "__main__":
    main()
