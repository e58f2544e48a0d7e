# The two commands of README.md: `make demo` and `make test`. Everything they need from PyPI is installed
# into .venv at the exact versions and hashes of requirements-lock.txt; the few Debian packages they need
# come from tools/system_deps.sh (installed as root, or named with the command to run).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
LOCK := requirements-lock.txt
LOCK_TOOLS := build/lock-tools
LATEST_VENV := build/venv-latest
COLLECTION_LINK := build/collections/ansible_collections/proxgate/core
DEMO_COLLECTIONS := build/demo-collections

.PHONY: help venv collection demo test test-latest lock lock-upgrade unit integration lint sanity molecule \
	release-check build bench docs clean

help:
	@echo "make demo   - run playbooks/site.yml against the test servers (or PROXMOX_URL / GUACAMOLE_URL)"
	@echo "make test   - ruff, ansible-lint, ansible-test sanity, unit, emulator and integration tests"
	@echo "make test-latest - make test with the newest versions requirements.txt and tests/requirements.txt allow"
	@echo "make lock   - regenerate requirements-lock.txt, keeping its pins; make lock-upgrade takes the newest"
	@echo "make bench  - benchmarks (tests/bench)"
	@echo "make docs   - docs/modules, docs/plugins, docs/roles from the modules', plugins' and roles' docs"
	@echo "make sanity - ansible-test sanity (per-test venvs from PyPI)"
	@echo "make molecule - the roles' molecule scenarios in systemd-nspawn machines (root; no Docker)"
	@echo "make release-check - changelog, version, build, install and smoke-run of the tarball"

# Made anew whenever the lock changes, so that it holds exactly what the lock names and nothing else.
$(BIN)/.installed: $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "proxgate.core needs Python 3.11 or newer: $(PYTHON) is $$($(PYTHON) -V 2>&1)" >&2; exit 1; }
	tools/system_deps.sh demo
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip check --disable-pip-version-check
	touch $@

venv: $(BIN)/.installed

$(COLLECTION_LINK):
	mkdir -p $(dir $(COLLECTION_LINK))
	ln -sfn ../../../.. $(COLLECTION_LINK)

collection: $(COLLECTION_LINK)

build: venv
	rm -rf build/dist && mkdir -p build/dist
	$(BIN)/ansible-galaxy collection build --output-path build/dist --force .

demo: venv collection build
	rm -rf $(DEMO_COLLECTIONS)
	$(BIN)/ansible-galaxy collection install --force -p $(DEMO_COLLECTIONS) build/dist/proxgate-core-*.tar.gz
	DEMO_COLLECTIONS_PATH=$(CURDIR)/$(DEMO_COLLECTIONS) $(BIN)/python tools/demo.py

# ansible-lint finds the collection through ansible.cfg, as it does for anyone running it in the checkout.
# mypy (mypy.ini) reads module_utils and plugin_utils under their import names, through build/collections.
lint: venv collection
	$(BIN)/ruff check plugins tests tools
	cd build/collections && $(abspath $(BIN))/mypy --config-file $(CURDIR)/mypy.ini
	$(BIN)/ansible-lint

sanity: venv
	BIN=$(CURDIR)/$(BIN) tools/sanity.sh

test:
	tools/system_deps.sh test
	$(MAKE) --no-print-directory venv collection
	BIN=$(CURDIR)/$(BIN) MAKE="$(MAKE) VENV=$(VENV)" tools/test.sh

# The suite with the newest releases the ranges allow, in a venv of its own: a new upstream release that
# breaks us is seen here, on purpose. Prints what differs from the lock, then runs `make test` with it.
test-latest:
	tools/system_deps.sh test
	rm -rf $(LATEST_VENV)
	$(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade \
		-r requirements.txt -r tests/requirements.txt
	$(LATEST_VENV)/bin/python tools/lock_diff.py $(LOCK)
	touch $(LATEST_VENV)/bin/.installed
	PROXGATE_UNLOCKED=1 $(MAKE) --no-print-directory VENV=$(LATEST_VENV) test

# uv resolves once for every Python from 3.11 and every platform (--universal), with the hash of each file.
UV_COMPILE = $(LOCK_TOOLS)/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" $(LOCK_ARGS)

lock: $(LOCK_TOOLS)/bin/uv
	$(UV_COMPILE) requirements.txt tests/requirements.txt -o $(LOCK)
	$(UV_COMPILE) tests/requirements-oldest.txt -o tests/requirements-oldest-lock.txt

lock-upgrade:
	$(MAKE) --no-print-directory lock LOCK_ARGS=--upgrade

$(LOCK_TOOLS)/bin/uv: tools/lock-tools.txt
	rm -rf $(LOCK_TOOLS)
	$(PYTHON) -m venv $(LOCK_TOOLS)
	$(LOCK_TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r tools/lock-tools.txt
	touch $@

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

# make bench BENCH=tests/bench/inventory.py runs one benchmark; BENCH_ARGS are passed to each (--guests 1000).
BENCH ?= tests/bench/*.py
bench: venv collection
	@ls $(BENCH) >/dev/null 2>&1 && for b in $(BENCH); do $(BIN)/python $$b $(BENCH_ARGS) || exit 1; done || echo "no benchmarks yet"

clean:
	rm -rf build $(VENV)
