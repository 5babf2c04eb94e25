# The two commands in README.md. Each installs what it needs into .venv first (again only
# when pyproject.toml changes), so both work on a fresh clone.
VENV ?= .venv
PY := $(VENV)/bin/python

$(VENV)/.run-installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.run-installed

# mypy does not follow the editable install's import hook, so it reads Baton as installed
# (`baton.core`, `baton.connectors`, …) through this link tree of the repository's folders.
PACKAGES := core connectors webhooks sandbox
.build/baton: Makefile
	mkdir -p .build/baton
	for p in $(PACKAGES); do ln -sfn ../../$$p .build/baton/$$p; done
	ln -sfn ../../webhooks/client .build/baton/client  # baton.client lives under webhooks/
	touch $@

# The agent recipes (examples/agents/) run in a virtualenv of their own: the frameworks they use
# (OpenAI Agents SDK, LangGraph) are not Baton's dependencies. Rebuilt when either file changes.
AGENTS_VENV := .venv-agents
$(AGENTS_VENV)/.installed: pyproject.toml examples/agents/requirements.txt
	python3 -m venv $(AGENTS_VENV)
	$(AGENTS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(AGENTS_VENV)/bin/python -m pip install --quiet -e . -r examples/agents/requirements.txt
	touch $@

.PHONY: demo test lint schema wheel-check chromium report-screenshot
demo: $(VENV)/.run-installed
	$(VENV)/bin/baton demo

lint: $(VENV)/.dev-installed .build/baton
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# The built wheel, installed in a fresh virtualenv, runs from an empty folder.
wheel-check: $(VENV)/.run-installed
	PYTHON=$(PY) bash .ci/wheel-check

# The report page's browser test needs Debian's Chromium: installed here when root and missing.
chromium:
	bash .ci/install-chromium

test: lint wheel-check chromium $(AGENTS_VENV)/.installed
	$(VENV)/bin/pytest -n auto

# Regenerate docs/report-screenshot.png (README.md shows it) from a realistic month.
report-screenshot: $(VENV)/.dev-installed chromium
	$(PY) -m tests.support.report_screenshot

# Regenerate the published JSON Schema of mapping files after changing a mapping model
# (core/mapping/spec.py or a platform's connectors/<p>/mapping.py).
schema: $(VENV)/.run-installed
	$(VENV)/bin/baton schema mapping > mappings/schema.json
