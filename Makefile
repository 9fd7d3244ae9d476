# The two commands: `make demo` and `make test`. Each sets up everything it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MELTANO_VENV := .venv-meltano
SIM_PORT ?= 8899
SIM_CLOCK ?= now
PYTEST_ARGS ?=

.PHONY: demo test e2e postgres lint typecheck bench readme plugin schemas live-check clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade "pip>=25.1"
	$(BIN)/pip install -q --disable-pip-version-check -e . --group test --group lint --group typing
	touch $@

$(MELTANO_VENV)/.installed:
	$(PYTHON) -m venv $(MELTANO_VENV)
	$(MELTANO_VENV)/bin/pip install -q --disable-pip-version-check --upgrade pip
	$(MELTANO_VENV)/bin/pip install -q --disable-pip-version-check "meltano>=3.5,<5"
	touch $@

# Meltano installs the extractor (this checkout), target-duckdb and target-postgres into
# .meltano/.
.meltano/.installed: $(MELTANO_VENV)/.installed meltano.yml pyproject.toml
	$(MELTANO_VENV)/bin/meltano install
	touch $@

demo: $(BIN)/.installed .meltano/.installed
	PATH="$(CURDIR)/$(BIN):$(CURDIR)/$(MELTANO_VENV)/bin:$$PATH" SIM_PORT=$(SIM_PORT) SIM_CLOCK=$(SIM_CLOCK) bash scripts/demo.sh

test: $(BIN)/.installed .meltano/.installed postgres
	MELTANO_BIN="$(CURDIR)/$(MELTANO_VENV)/bin/meltano" $(BIN)/pytest -n 2 -q $(PYTEST_ARGS)

# PostgreSQL's server for the end-to-end test (tests/test_e2e_postgres.py): Debian's package,
# installed with apt-get when it is missing and this is root; otherwise the test says why
# it skips.
postgres:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [ -n "$$PG_BINDIR" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	else echo "PostgreSQL server not found and not installable here (root and apt-get needed):" \
		"tests/test_e2e_postgres.py will skip"; fi

# meltano run tap-pardot target-postgres into a throwaway cluster, then an incremental run.
e2e: $(BIN)/.installed .meltano/.installed postgres
	MELTANO_BIN="$(CURDIR)/$(MELTANO_VENV)/bin/meltano" $(BIN)/pytest -q -rsx tests/test_e2e_postgres.py

lint: $(BIN)/.installed
	$(BIN)/ruff check tap_pardot tests scripts

typecheck: $(BIN)/.installed
	$(BIN)/mypy tap_pardot tests

bench: $(BIN)/.installed
	$(BIN)/python scripts/benchmark.py

# Regenerates the README's settings table (`tap-pardot --about --format=markdown`) and its
# streams table (tap_pardot/streams.py).
readme: $(BIN)/.installed
	$(BIN)/python scripts/update_readme.py

# Regenerates plugin/tap-pardot.yml (the Meltano Hub-format definition) from meltano.yml and
# `tap-pardot --about --format=json`.
plugin: $(BIN)/.installed
	$(BIN)/python scripts/plugin_definition.py

# Regenerates tap_pardot/schemas/*.json from the field definitions (simulator/schema.py).
schemas: $(BIN)/.installed
	$(BIN)/python scripts/gen_schemas.py

# Asks a real Pardot sandbox the API notes' open questions (TAP_PARDOT_* variables; README).
live-check: $(BIN)/.installed
	$(BIN)/python scripts/live_check.py

clean:
	rm -rf $(VENV) $(MELTANO_VENV) .meltano output .pytest_cache
