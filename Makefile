# The README's commands. Each target creates .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Extras to install: `make test EXTRAS=dev,semantic` adds the real sentence-embedding model.
EXTRAS ?= dev

.PHONY: help install run check generate test lint format bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(BIN)/sutra: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[$(EXTRAS)]'
	touch $@

install: $(BIN)/sutra ## create .venv and install the project with its pinned dependencies

run: $(BIN)/sutra ## run the whole stack locally with the demo knowledge (Ctrl-C stops it)
	$(BIN)/sutra up

check: $(BIN)/sutra ## render, validate and policy-check every tier
	$(BIN)/sutra check

generate: $(BIN)/sutra ## regenerate gatekeeper/ and the tiers' alerts from policies/
	$(BIN)/sutra gatekeeper generate
	$(BIN)/sutra alerts generate

lint: $(BIN)/sutra ## ruff
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(BIN)/sutra ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

test: lint ## lint, then the whole test suite
	$(BIN)/pytest

bench: $(BIN)/sutra ## run the benchmarks in bench/ (prints figures, asserts nothing on time)
	$(BIN)/python bench/run.py

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache src/*.egg-info
