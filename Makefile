# DZDesk: the two commands are `make run` and `make test`; each sets up what it needs.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run demo test lint bench setup venv infra migrate clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24"
	$(PY) -m pip install -q -c constraints.txt -e ".[test]"
	@touch $(STAMP)

venv: $(STAMP)

infra: venv
	$(PY) deploy/local/infra.py $(INFRA_FLAGS)

migrate: infra
	$(VENV)/bin/dzdesk-migrate --local-passwords

setup: migrate

run: INFRA_FLAGS = --nginx
run: migrate
	$(PY) deploy/local/run.py

# the guided tour, against the suite `make run` serves (run it in another terminal)
demo: venv
	$(VENV)/bin/dzdesk-dev demo

# ruff: pyflakes, pycodestyle at 100 columns, import order, likely bugs; and the one format
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# pytest's exit code 5 means no test ran: that is a failure here, never a pass.
test: INFRA_FLAGS = --nginx
test: infra lint
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: no tests were collected" >&2; exit 1; fi; exit $$rc

bench: migrate
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .run
