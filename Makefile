# The two set-up commands of the README: `make demo` and `make test`.
# Each creates .venv and installs the pinned dependencies when they changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)

# Debian's Chromium for the browser tests (Playwright drives it; pip installs no browser).
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: demo test install lint lock

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/threadline demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

$(CHROMIUM):
	$(SUDO) apt-get install -y --no-install-recommends chromium \
	  || ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium)

test: lint $(CHROMIUM)
	$(BIN)/pytest

# Refresh constraints.txt after changing dependency ranges in pyproject.toml.
lock:
	$(PYTHON) -m venv /tmp/threadline-lock && /tmp/threadline-lock/bin/pip install --quiet -e '.[dev]' \
	  && /tmp/threadline-lock/bin/pip freeze --exclude-editable | grep -v '^threadline' > constraints.txt
