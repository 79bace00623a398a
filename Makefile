# secretsops.aws — developer entry points. Two commands on a fresh machine:
#   make demo   the main job end to end against the local AWS emulator
#   make test   everything that gates a change
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COLLECTIONS := .collections
LINK := $(COLLECTIONS)/ansible_collections/secretsops/aws
EMULATOR := $(CURDIR)/$(BIN)/python $(CURDIR)/tools/emulator.py
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/$(COLLECTIONS)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help setup demo test lint unit integration molecule compat newest versions ecosystem docs sanity changelog bench-lookup bench-provision clean

help:
	@echo "make demo   provision -> read -> rotate -> redeploy on the local AWS emulator"
	@echo "make test   ansible-lint, unit tests, integration tests and molecule (emulator)"
	@echo "make sanity ansible-test sanity (copies tracked files into a collection tree)"
	@echo "make compat the demo on the oldest supported versions (ansible-core 2.17, amazon.aws 9)"
	@echo "make newest the demo on the newest versions (ansible 14: ansible-core 2.21, python3.12)"
	@echo "make docs   the documentation site (antsibull-docs, offline) in build/docs/build/html, checked"
	@echo "make ecosystem  the built tarball through galaxy-importer and ansible-builder (create, introspect)"
	@echo "make bench-lookup / bench-provision   side-by-side benchmarks against amazon.aws / community.aws"

$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# The checkout itself, importable as secretsops.aws through a link (never a stale copy).
$(LINK):
	mkdir -p $(dir $(LINK))
	ln -sfn $(CURDIR) $(LINK)

setup: $(STAMP) $(LINK)

demo: setup
	$(EMULATOR) -- tools/demo.sh

lint: setup
	$(BIN)/ansible-lint --offline

# pytest exits 5 when it collected nothing: that fails the gate, with a message saying why.
PYTEST = $(BIN)/python -m pytest -q $(1) || { rc=$$?; [ $$rc -ne 5 ] || echo "make $@: pytest collected no tests in $(1)" >&2; exit $$rc; }

unit: setup
	$(call PYTEST,tests/unit)

integration: setup
	$(call PYTEST,tests/integration -n 2)

# Each scenario gets a fresh emulator, so no scenario sees another's resources.
molecule: setup
	cd extensions && for scenario in $$(ls molecule | grep -v '\.'); do \
	  $(EMULATOR) -- $(CURDIR)/$(BIN)/molecule test -s $$scenario || exit $$?; \
	done

# The oldest versions the collection claims: meta/runtime.yml requires_ansible >=2.17 and
# galaxy.yml amazon.aws/community.aws >=9. ansible-core 2.17 with the collections of the PyPI
# `ansible` 11 package (amazon.aws 9.x, community.aws 9.x), installed without its ansible-core
# 2.18 pin, in a venv of its own; then the whole demo (provision, ECS, lookup, staged rotation
# with redeploy, idempotent re-run, audit) on a fresh emulator.
COMPAT_VENV := .venv-compat
COMPAT_STAMP := $(COMPAT_VENV)/.installed
$(COMPAT_STAMP): requirements-compat.txt
	$(PYTHON) -m venv $(COMPAT_VENV)
	$(COMPAT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(COMPAT_VENV)/bin/python -m pip install --quiet -r requirements-compat.txt
	$(COMPAT_VENV)/bin/python -m pip install --quiet --no-deps "ansible>=11,<12"
	touch $@

compat: $(COMPAT_STAMP) $(LINK)
	PATH="$(CURDIR)/$(COMPAT_VENV)/bin:$$PATH" $(COMPAT_VENV)/bin/ansible --version | sed -n 1p
	PATH="$(CURDIR)/$(COMPAT_VENV)/bin:$$PATH" $(COMPAT_VENV)/bin/python tools/emulator.py -- tools/demo.sh

# The newest versions: the `ansible` 14 package (ansible-core 2.21 and its amazon.aws /
# community.aws) on Python 3.12 (ansible-core 2.21 needs >= 3.12), in a venv of its own; then the
# whole demo on a fresh emulator, as `make compat` does for the oldest. python3.12 from PATH, else
# from pyenv (whose shim needs a selected version); NEWEST_PYTHON=... overrides.
NEWEST_VENV := .venv-newest
NEWEST_STAMP := $(NEWEST_VENV)/.installed
NEWEST_PYTHON ?= $(firstword $(shell python3.12 -c 'import sys; print(sys.executable)' 2>/dev/null) \
                  $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.12*/bin/python3.12))
$(NEWEST_STAMP): requirements-newest.txt
	@[ -n "$(NEWEST_PYTHON)" ] || { echo "make newest: no python3.12 found; set NEWEST_PYTHON=/path/to/python3.12" >&2; exit 2; }
	$(NEWEST_PYTHON) -m venv $(NEWEST_VENV)
	$(NEWEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(NEWEST_VENV)/bin/python -m pip install --quiet -r requirements-newest.txt
	touch $@

newest: $(NEWEST_STAMP) $(LINK)
	PATH="$(CURDIR)/$(NEWEST_VENV)/bin:$$PATH" $(NEWEST_VENV)/bin/ansible --version | sed -n 1p
	PATH="$(CURDIR)/$(NEWEST_VENV)/bin:$$PATH" $(NEWEST_VENV)/bin/ansible-galaxy collection list 2>/dev/null | grep -E '^(amazon|community)\.aws ' || true
	PATH="$(CURDIR)/$(NEWEST_VENV)/bin:$$PATH" $(NEWEST_VENV)/bin/python tools/emulator.py -- tools/demo.sh

# The built tarball as the ecosystem reads it: its file list, galaxy-importer (offline, config in
# tools/galaxy-importer.cfg), ansible-builder introspect over a collections path holding it, and
# ansible-builder create of execution-environment/. Those two tools get a venv of their own
# (galaxy-importer pins attrs<24 and ansible-lint<=26.10.1). Output in build/ecosystem/.
ECO_VENV := .venv-eco
ECO_STAMP := $(ECO_VENV)/.installed
$(ECO_STAMP): requirements-eco.txt
	$(PYTHON) -m venv $(ECO_VENV)
	$(ECO_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(ECO_VENV)/bin/python -m pip install --quiet -r requirements-eco.txt
	touch $@

ecosystem: setup $(ECO_STAMP)
	$(BIN)/python tools/ecosystem.py --eco-bin $(ECO_VENV)/bin

# The documentation site, offline: antsibull-docs sphinx-init/collection for secretsops.aws plus
# the README (quick start) and docs/*.md (guides), Sphinx without intersphinx; then no warning of
# ours, no broken local link or image, and screenshots with headless Chromium if there is one
# (build/docs/screenshots/). ~20 s. antsibull-docs/Sphinx in .venv-docs.
DOCS_VENV := .venv-docs
DOCS_STAMP := $(DOCS_VENV)/.installed
$(DOCS_STAMP): requirements-docs.txt
	$(PYTHON) -m venv $(DOCS_VENV)
	$(DOCS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(DOCS_VENV)/bin/python -m pip install --quiet -r requirements-docs.txt
	touch $@

docs: setup $(DOCS_STAMP)
	$(BIN)/python tools/docs.py --docs-bin $(DOCS_VENV)/bin

# Both ends of the supported range side by side, each demo on its own emulator.
versions: $(COMPAT_STAMP) $(NEWEST_STAMP) $(LINK)
	$(MAKE) --no-print-directory -j2 --output-sync=target compat newest

test: lint changelog sanity unit integration molecule versions ecosystem docs

sanity: setup
	tools/sanity.sh

bench-lookup: setup
	$(BIN)/python benchmarks/lookup/run.py

bench-provision: setup
	$(BIN)/python benchmarks/provision/run.py

changelog: setup
	$(BIN)/antsibull-changelog lint

clean:
	rm -rf $(COLLECTIONS) .pytest_cache build $(COMPAT_VENV) $(NEWEST_VENV) $(ECO_VENV) $(DOCS_VENV)
