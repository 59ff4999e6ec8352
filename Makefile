# The README's two commands: `make synth` (genba's main job) and `make test`.
# Both set everything up first; a second run reuses what is installed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

# A supported Node.js (22, from package.json) for jsii and the CDK CLI; jsii's package
# cache per repository; no instance-metadata look-ups for credentials (synth is offline).
export JSII_NODE := $(CURDIR)/node_modules/.bin/node
export JSII_RUNTIME_PACKAGE_CACHE_ROOT := $(CURDIR)/.cache/jsii
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export AWS_EC2_METADATA_DISABLED := true
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: setup synth test lint nag-report bench snapshots cost demo bench-sync soak-sync detect clean check drill docs

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

synth: setup
	$(PY) -m tools.gates.synth_all

test: setup
	$(PY) -m pytest -n 2 --dist loadfile --durations=5

lint: setup
	$(PY) -m ruff check .
	$(PY) -m tools.gates.typecheck

nag-report: synth
	$(PY) -m tools.reports.nag_report

bench: setup
	$(PY) -m tools.reports.bench_synth

# The sync-verification pipeline on moto server (127.0.0.1): no AWS account, no Docker.
demo: setup
	$(PY) -m tools.sim.demo_sync

bench-sync: setup
	$(PY) -m tools.reports.bench_sync

soak-sync: setup
	$(PY) -m tools.sim.soak_sync

# Each failure mode of the baseline played against the synthesized alarms (offline CloudWatch
# alarm semantics); exits 1 when a mode goes undetected or past its goal. Writes docs/detection.md.
detect: setup
	$(PY) -m tools.gates.detect --write docs/detection.md

# The deployed environment against its templates (read-only), and an alarm drill, with the
# operator's AWS credentials: `make check ENV=prod [SINCE=24h]`, `make drill ENV=dev [ALARM=name]`
# (PRODUCTION=yes to drill a production environment). Each synthesizes ENV offline first.
check: setup
	$(if $(ENV),,$(error give the environment: make check ENV=dev))
	$(PY) -m genba synth --env $(ENV)
	$(PY) -m genba check --env $(ENV) $(if $(SINCE),--since $(SINCE))

drill: setup
	$(if $(ENV),,$(error give the environment: make drill ENV=dev))
	$(PY) -m genba synth --env $(ENV)
	$(PY) -m genba drill --env $(ENV) $(if $(ALARM),--alarm $(ALARM)) $(if $(filter yes,$(PRODUCTION)),--i-know-this-is-production)

clean:
	rm -rf cdk.out .cache .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info

snapshots: setup
	$(PY) -m tools.gates.snapshots

# Generated reference pages (tests fail when they are stale): configuration keys, alarms.
docs: setup
	$(PY) -m tools.reports.config_docs
	$(PY) -m tools.reports.alarm_docs

cost: setup
	$(PY) -m tools.reports.cost_estimate
