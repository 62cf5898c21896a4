# Two commands do everything on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: install demo test bench lint typecheck clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[issuer,verifier,dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)
	@scripts/system-packages.sh

demo: install
	$(BIN)/python -m jiaozi.demo

test: install
	$(BIN)/python -m pytest -n 2 -q $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy credential keys issuer verifier jiaozi

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var/demo
