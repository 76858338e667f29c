# genzoo: `make demo` runs the main job, `make test` the test suite, `make docs` the docs site.
# Each creates .venv with the core and every plugin under plugins/ installed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PLUGINS := $(sort $(wildcard plugins/genzoo-*))
SHARED_DATA := $(abspath ../shared/data)
# Datasets: $GENZOO_DATA if set, else ../shared/data when it exists.
export GENZOO_DATA ?= $(if $(wildcard $(SHARED_DATA)),$(SHARED_DATA),)

.PHONY: demo test lint docs bench results clean install dist release-check

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(addsuffix /pyproject.toml,$(PLUGINS))
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]" $(addprefix -e ,$(PLUGINS))
	touch $@

demo: install
	$(BIN)/genzoo list
	$(BIN)/genzoo sample gan/mnist -n 64 --seed 0 -o demo-output/gan-mnist.png

# Two test processes on two cores: numpy's BLAS keeps to one thread in each, since
# oversubscribed OpenBLAS threads spin (a 1 ms product took 70 ms under load).
test: install
	$(BIN)/python -m ruff check .
	$(BIN)/python -m mkdocs build --strict --site-dir site
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -n 2

# The documentation site (mkdocs.yml) into site/; --strict makes every warning an error.
docs: install
	$(BIN)/python -m mkdocs build --strict --site-dir site

# Results go to bench-results/; the ddpm sampler comparison runs ancestral sampling over
# all 1,000 steps for 500 images (about half an hour on 2 cores); the time-to-quality runs (three MNIST recipes, FID after
# every epoch, 15 training minutes each) take about an hour on 2 cores and draw
# docs/images/time-to-quality.png (matplotlib, the [bench] extra).
bench: install
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/bench_train_step.py
	$(BIN)/python benchmarks/bench_dcgan.py
	$(BIN)/python benchmarks/bench_pixelcnn.py
	$(BIN)/python benchmarks/bench_fid.py
	$(BIN)/python benchmarks/bench_compile.py
	$(BIN)/python benchmarks/bench_precision.py
	$(BIN)/python benchmarks/bench_ddpm_samplers.py -n 500
	$(BIN)/python benchmarks/bench_time_to_quality.py --entry dcgan --entry reference \
	    --entry gan --minutes 15 --runs bench-results/runs --plot

results: install
	$(BIN)/python scripts/make_results.py

# Every wheel and sdist into dist/ (offline: python -m build --no-isolation), warning-free
# and checked by twine; the metadata is checked first (scripts/release_metadata.py --check).
dist: install
	$(BIN)/python scripts/release_metadata.py --check
	$(BIN)/python scripts/build_dists.py --out dist

# dist/ served as a package index on 127.0.0.1: a fresh venv installs genzoo-pix2pix from it
# (third-party dependencies from the usual index) and uses it. Not part of make test.
release-check: dist
	$(BIN)/python scripts/release_check.py dist

lint: install
	$(BIN)/python -m ruff check .

clean:
	rm -rf $(VENV) demo-output site
