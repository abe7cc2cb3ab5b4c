# One entry point for developers, CI and the pipeline. Run `make help`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
NODE_BIN := $(CURDIR)/node_modules/.bin
CDK := $(NODE_BIN)/cdk --no-notices
STAGE ?= Dev
OUT := cdk.out

# The pinned Node LTS from node_modules comes first for every target, so the
# CDK CLI and the jsii runtime never run on the machine's end-of-life Node.
export PATH := $(NODE_BIN):$(CURDIR)/$(VENV)/bin:$(PATH)
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1

PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: help setup synth test lint format diff deploy clean snapshots risk cost diagram \
	restore-drill local-deploy deploy-pipeline bench

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
		awk -F ':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

setup: $(PY_STAMP) $(NODE_STAMP) ## Install pinned Python and Node tools (fast when nothing changed).

$(PY_STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

synth: setup ## Synthesize every stage into cdk.out/ (one stage: make synth STAGE_ONLY=Prod).
	$(CDK) synth --quiet --output $(OUT) $(if $(STAGE_ONLY),-c stage=$(STAGE_ONLY))
	@echo "synthesized: $$(cd $(OUT) && ls -d assembly-* | sed 's/assembly-//' | tr '\n' ' ')"

test: setup ## Run the whole test suite (on both cores).
	$(PY) -m pytest -n 2

lint: synth ## Ruff (style, imports) and cfn-lint over cdk.out.
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/cfn-lint --config-file .cfnlintrc.yaml $(OUT)/*.template.json \
		$(OUT)/assembly-*/*.template.json

format: setup ## Format and sort imports in place.
	$(VENV)/bin/ruff check --fix --select I .
	$(VENV)/bin/ruff format .

diff: setup ## cdk diff of one stage against the account (needs credentials): make diff STAGE=Prod
	$(CDK) diff '$(STAGE)/*' -c stage=$(STAGE)

deploy: setup ## cdk deploy of one stage (needs credentials): make deploy STAGE=Prod
	$(CDK) deploy '$(STAGE)/*' -c stage=$(STAGE) --require-approval broadening

local-deploy: synth ## Rehearse the deploy of every stage against moto on 127.0.0.1 (no AWS account).
	$(PY) scripts/local_deploy.py $(LOCAL_DEPLOY_ARGS)

snapshots: synth ## Rewrite tests/snapshots/ from the templates; review the diff, commit it.
	$(PY) -m scripts.snapshots --assembly $(OUT) --update

risk: synth ## Risky changes against a base assembly: make risk BASE=path/to/base/cdk.out
	@test -n "$(BASE)" || { echo "usage: make risk BASE=<base cdk.out>" >&2; exit 2; }
	$(PY) -m scripts.risk --base $(BASE) --current $(OUT)

cost: synth ## Monthly cost per stage, stack and tier (BASE=<cdk.out>, JSON=1, COST_OUT=file).
	$(PY) -m scripts.cost --assembly $(OUT) $(if $(BASE),--base $(BASE)) \
		$(if $(JSON),--json) $(if $(COST_OUT),--output $(COST_OUT))

diagram: synth ## Architecture diagram from the templates into docs/ (needs graphviz).
	$(PY) -m scripts.diagram --assembly $(OUT)

restore-drill: setup ## Restore a shard's newest backup on a throwaway host (needs credentials): make restore-drill STAGE=Prod SHARD=0
	@test -n "$(SHARD)" || { echo "restore-drill: set SHARD, e.g. SHARD=0" >&2; exit 2; }
	$(PY) scripts/restore_drill.py --stage $(STAGE) --shard $(SHARD) \
		$(if $(TABLES),--tables $(TABLES)) $(if $(FROM_REPLICA),--from-replica) \
		$(DRILL_FLAGS)

deploy-pipeline: setup ## Deploy the delivery pipeline once (needs Prod credentials); it then updates itself.
	$(CDK) deploy Pipeline --require-approval broadening

bench: setup ## Time synth, tests and the local deploy; print ratios, write build/bench.json.
	$(PY) -m scripts.bench $(BENCH_ARGS)

clean: ## Remove build output (keeps the installed tools).
	rm -rf $(OUT) build .pytest_cache .ruff_cache
	find . -name __pycache__ -not -path './.venv/*' -not -path './node_modules/*' \
		-prune -exec rm -rf {} +
