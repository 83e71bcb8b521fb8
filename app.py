#!/usr/bin/env python3
"""Entry point of the CDK app: read settings once, build every stack, synthesize.

A settings problem is two lines, the problem (naming the key) and the fix, and exit status 1; ``cdk
--debug`` (which sets CDK_DEBUG) shows the traceback too.
"""

import os
import sys

from aws_cdk import App

from stacks.application import build_app
from stacks.settings import SettingsError, load_settings

app = App()
try:
    settings = load_settings(app.node.get_all_context())
except SettingsError as error:
    if os.environ.get("CDK_DEBUG", "").lower() in ("1", "true"):
        raise
    print(f"{error}\n{error.fix}", file=sys.stderr)
    raise SystemExit(1) from None
build_app(app, settings)
app.synth()
