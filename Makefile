# Two commands for users: `make demo` and `make test`. `make bench` runs the benchmarks;
# `make doctor` says what this machine lacks (before the install too).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_DIR ?= demo-output

.PHONY: demo test bench lint install clean doctor

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

# torch and torchvision (timm needs both) first, as a matched pair: on the build machines
# pip takes this pair from local disk; elsewhere it comes from PyPI, and if that exact pair
# is not offered there, pip picks the newest matching pair it finds.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install "torch==2.14.1" "torchvision==0.29.1" || $(BIN)/pip install torch torchvision
	$(BIN)/pip install -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/knee-reader --demo --demo-dir $(DEMO_DIR)

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m pytest -q -s tests/benchmarks

doctor:
	@if [ -x $(BIN)/knee-study ]; then $(BIN)/knee-study doctor; else PYTHONPATH=. $(PYTHON) -m studies.doctor; fi

lint: $(STAMP)
	$(BIN)/ruff check studies model reader_app tests

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache
