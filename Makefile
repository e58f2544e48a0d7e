# The two commands of README.md: `make demo` and `make test`. Everything they need is installed
# into .venv from PyPI; nothing else is assumed but Python 3.11+ with venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
COLLECTION_LINK := build/collections/ansible_collections/proxgate/core
DEMO_COLLECTIONS := build/demo-collections

.PHONY: help venv collection demo test unit integration lint sanity molecule release-check build bench docs clean

help:
	@echo "make demo   - run playbooks/site.yml against the test servers (or PROXMOX_URL / GUACAMOLE_URL)"
	@echo "make test   - ruff, ansible-lint, ansible-test sanity, unit, emulator and integration tests"
	@echo "make bench  - benchmarks (tests/bench)"
	@echo "make docs   - docs/modules, docs/plugins, docs/roles from the modules', plugins' and roles' docs"
	@echo "make sanity - ansible-test sanity (per-test venvs from PyPI)"
	@echo "make molecule - the roles' molecule scenarios in systemd-nspawn machines (root; no Docker)"
	@echo "make release-check - changelog, version, build, install and smoke-run of the tarball"

$(BIN)/.installed: requirements.txt tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -r tests/requirements.txt
	touch $@

venv: $(BIN)/.installed

$(COLLECTION_LINK):
	mkdir -p $(dir $(COLLECTION_LINK))
	ln -sfn ../../../.. $(COLLECTION_LINK)

collection: $(COLLECTION_LINK)

build: venv
	rm -rf build/dist && mkdir -p build/dist
	$(BIN)/ansible-galaxy collection build --output-path build/dist --force .

demo: venv build
	rm -rf $(DEMO_COLLECTIONS)
	$(BIN)/ansible-galaxy collection install --force -p $(DEMO_COLLECTIONS) build/dist/proxgate-core-*.tar.gz
	DEMO_COLLECTIONS_PATH=$(CURDIR)/$(DEMO_COLLECTIONS) $(BIN)/python tools/demo.py

lint: venv collection
	$(BIN)/ruff check plugins tests tools
	ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/build/collections $(BIN)/ansible-lint

sanity: venv
	tools/sanity.sh

test: venv collection
	BIN=$(CURDIR)/$(BIN) MAKE="$(MAKE)" tools/test.sh

molecule: venv collection
	BIN=$(CURDIR)/$(BIN) tools/molecule.sh

release-check: venv collection
	BIN=$(CURDIR)/$(BIN) tools/release_check.sh

unit: venv collection
	$(BIN)/python -m pytest -q tests/unit

integration: venv collection
	$(BIN)/python -m pytest -n 2 -q tests/integration

docs: venv collection
	$(BIN)/python tools/docs.py

bench: venv collection
	@ls tests/bench/*.py >/dev/null 2>&1 && for b in tests/bench/*.py; do $(BIN)/python $$b || exit 1; done || echo "no benchmarks yet"

clean:
	rm -rf build $(VENV)
