# Two commands set everything up on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# The CPU build of torch lies on this machine's disk; asking for it keeps the venv small.
TORCH := torch==2.13.0

.PHONY: run test test-installer installer bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q "$(TORCH)" || $(BIN)/pip install -q "torch>=2.4,<=2.14.1"
	$(BIN)/pip install -q -e .
	touch $@

$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install -q -e ".[test,cluster]"
	touch $@

# Before the window: Qt's xcb plugin needs system libraries that pip cannot install; when
# any is missing this prints the one `sudo apt-get install ...` line and stops.
run: $(STAMP)
	@$(BIN)/python -m colorstudio.platform_check
	$(BIN)/colorstudio gui

# The Ray cluster tests run in a process of their own: Ray's driver leaves native threads
# and signal handlers behind in the process that called ray.init, and the rest of the suite
# (Qt threads, torch) should not share a process with them.
test: $(TEST_STAMP)
	$(BIN)/ruff check .
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q --ignore=tests/test_cluster.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q tests/test_cluster.py

test-installer: $(TEST_STAMP)
	$(BIN)/pip install -q -e ".[installer]"
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -s -m slow -o addopts=""

installer: $(STAMP)
	$(BIN)/pip install -q -e ".[installer]"
	$(BIN)/python installer/build.py

bench: $(STAMP)
	$(BIN)/colorstudio bench

clean:
	rm -rf build dist *.egg-info
