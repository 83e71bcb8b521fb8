#!/usr/bin/env python3
"""Entry point of the CDK app: read settings once, build every stack, synthesize.

``-c app:environment=<name>`` builds one of ``app:environments``; ``all`` builds each in a stage of its own
(``cdk deploy --app cdk.out 'dev/*'`` then deploys one of them from that same assembly).

A settings problem is two lines, the problem (naming the key) and the fix, and exit status 1; ``cdk
--debug`` (which sets CDK_DEBUG) shows the traceback too.
"""

import os
import sys

from aws_cdk import App

from stacks.application import build_app, build_environments
from stacks.settings import CONTEXT_PREFIX, SettingsError, load_environments, load_settings

app = App()
context = app.node.get_all_context()
try:
    if context.get(f"{CONTEXT_PREFIX}environment") == "all":
        build_environments(app, load_environments(context))
    else:
        build_app(app, load_settings(context))
except SettingsError as error:
    if os.environ.get("CDK_DEBUG", "").lower() in ("1", "true"):
        raise
    print(f"{error}\n{error.fix}", file=sys.stderr)
    raise SystemExit(1) from None
app.synth()
