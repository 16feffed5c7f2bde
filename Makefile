# Every target works on a fresh clone: the venv is created and filled on first use.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[train,dist,dev,lora]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m musicgen_ft.demo --out demo_out

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m pytest benchmarks/ --benchmark

clean:
	rm -rf $(VENV) demo_out .pytest_cache .benchmarks
