# Two commands do everything on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: install demo stack stack-stop stack-status test bench bench-search lint typecheck clean

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

# A production-like stack on this machine under var/stack/ (docs/deployment.md): its own
# PostgreSQL and Redis, the registry, one office, two verifiers behind nginx with TLS.
# Serves until Ctrl-C; `make stack STACK_ARGS=--exit` stops once it is up and checked;
# --public-port, --issuer-port, --registry-port (0: any free port). `make stack-stop`
# stops one left running (its runner killed, or started in another terminal).
stack: install
	$(BIN)/python -m jiaozi.stack start $(STACK_ARGS)

stack-stop:
	$(BIN)/python -m jiaozi.stack stop

stack-status:
	$(BIN)/python -m jiaozi.stack status

# --dist loadgroup: the stack's fault drills (tests/stack, one xdist group) share one stack
# on one worker; every other test is spread as before.
test: install
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q $(PYTEST_ARGS)

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
	rm -rf $(VENV) var/demo var/stack
