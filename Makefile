# Two commands: `make run` (set up, build index/ from seeds/, serve the chat) and `make test`.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PYTHON  ?= python3
TORCH   ?= torch==2.13.0
INDEX   ?= index
HOST    ?= 127.0.0.1
PORT    ?= 7860
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: run test check build install install-dev browser bench bench-build clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# torch goes in first, pinned, so nothing pulls a different (multi-GB CUDA) build.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e .
	touch $@

# dev: the test tools; scale: Milvus (Lite) and Ray, whose store and encoding tests run in make test.
$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[dev,scale]"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Updates every source the index remembers (a new index: seeds/); never removes articles indexed from elsewhere.
# Incremental: unchanged articles are skipped, so this is quick when index/ is up to date.
build: install
	$(PY) -m rag_qa build --index $(INDEX)

run: build
	$(PY) app.py --index $(INDEX) --host $(HOST) --port $(PORT)

# Debian's Chromium and an Arabic-capable font for the real-browser tests.
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qiE "noto (naskh|sans arabic)|dejavu"; then \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-noto-core fonts-dejavu-core fontconfig >/dev/null; \
	fi

check: install-dev
	$(PY) -m ruff check rag_qa tests app.py benchmarks docs
	$(PY) -m mypy rag_qa

# Two workers, each taking whole test files (their module fixtures build an index once): on 2 cores the
# README's examples (5 minutes of real runs) go beside the rest instead of after it.
test: check browser
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest -q -n 2 --dist loadfile

# Load on the running app's /ask API at 1, 8 and 32 clients (writes benchmarks/results/load.{json,md}).
bench: build
	$(PY) -m benchmarks.load --index $(INDEX)

# Build/query cost against the raw libraries and the LangChain recipe (writes benchmarks/results/bench.{json,md}).
bench-build: install-dev
	$(PY) -m pip install -q -e ".[bench]"
	$(PY) -m benchmarks.bench

clean:
	rm -rf $(VENV) $(INDEX)/v-* $(INDEX)/manifest.json
