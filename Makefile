# Two commands: `make demo` and `make test`. Each creates .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: demo test venv bench clean scale

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# the pinned torch pair goes in the same pip command as everything else so nothing swaps it
	$(PY) -m pip install -q "torch==2.14.1" "torchvision==0.29.1" -e ".[all,dev]"
	$(PY) -m pip check
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/svta demo

test: $(STAMP)
	bash scripts/ensure_chromium.sh
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(PY) -m mypy
	$(PY) -m pytest -q -p no:cacheprovider

# SVTA's size (41,315 pairs) on the embedded backends, then a search index over every clip; resumable (about 36 min on 2 idle cores)
scale: $(STAMP)
	$(VENV)/bin/svta pipeline run configs/svta-scale.yaml
	$(VENV)/bin/svta --config configs/svta-scale.yaml index --root svta-scale --run clip4clip-seqtransf-tiny \
		--out svta-scale/index --workers 1

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV)
