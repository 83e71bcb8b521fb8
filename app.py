#!/usr/bin/env python3
"""Entry point of the CDK app: read settings once, build every stack, synthesize."""

from aws_cdk import App

from stacks.application import build_app
from stacks.settings import load_settings

app = App()
build_app(app, load_settings(app.node.get_all_context()))
app.synth()
