# Two commands do everything on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: install demo test bench bench-search lint typecheck clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[issuer,verifier,registry,dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)
	@scripts/system-packages.sh

# Serves until Ctrl-C; `make demo DEMO_ARGS=--exit` (or JIAOZI_DEMO_EXIT=1) stops once the
# samples are made. Other flags: --issuer-port, --issuer-b-port, --verifier-port,
# --registry-port (0: any free port).
demo: install
	$(BIN)/python -m jiaozi.demo $(DEMO_ARGS)

test: install
	$(BIN)/python -m pytest -n 2 -q $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy credential keys issuer verifier registry jiaozi

bench: install
	$(BIN)/python -m bench

# Search among 1,000,000 certificates on PostgreSQL (bench/search.py): the first run loads
# them for a few minutes; later runs reuse the loaded database while its schema matches.
bench-search: install
	$(BIN)/python -m bench.search

clean:
	rm -rf $(VENV) var/demo
