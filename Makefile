# Lishui service-coverage planner — the two set-up commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8050
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: run test venv data bench chromium postgis nginx app clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@if $(BIN)/python -c "import importlib.util,sys; sys.exit(0 if importlib.util.find_spec('coverage.control') else 1)"; then \
	  echo "coverage.py is installed in $(VENV); it clashes with this project's 'coverage' package"; exit 1; fi
	touch $@

# The main job: the city-wide summary, the township gap list, then the planner's map.
run: $(STAMP)
	$(BIN)/covplan store init
	$(BIN)/covplan info
	$(BIN)/covplan evaluate
	mkdir -p out
	$(BIN)/covplan gaps -o out/township_gaps.xlsx
	$(BIN)/covplan gaps -o out/township_gaps.csv
	@echo "gap lists written to out/township_gaps.xlsx and out/township_gaps.csv"
	$(BIN)/covplan app --host $(HOST) --port $(PORT)

app: $(STAMP)
	$(BIN)/covplan app --host $(HOST) --port $(PORT)

# Debian's chromium for the browser tests (Playwright drives it through executable_path).
chromium:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "noto.*cjk"; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi
	@chromium --version

# PostgreSQL + PostGIS for the store tests (a throw-away cluster per run, tests/pg.py) and
# GDAL's ogrinfo, which the tests use to open the store's GeoPackage.
postgis:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || ! command -v ogrinfo >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql postgis gdal-bin >/dev/null; \
	fi
	@ls /usr/lib/postgresql/*/bin/initdb

# Debian's nginx, only so a test can check the TLS front-end config with `nginx -t` (never started).
nginx:
	@if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nginx openssl >/dev/null; \
	  $$SUDO service nginx stop >/dev/null 2>&1 || true; \
	fi

test: $(STAMP) chromium postgis nginx
	$(BIN)/python -m pytest

data: $(STAMP)
	$(BIN)/covplan data build

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

bench: $(BENCH_STAMP) postgis
	$(BIN)/python bench/bench_evaluate.py
	$(BIN)/python bench/bench_access.py
	$(BIN)/python bench/bench_siting.py
	$(BIN)/python bench/bench_app.py
	$(BIN)/python bench/bench_browser.py
	$(BIN)/python bench/bench_server.py
	$(BIN)/python bench/bench_import.py
	$(BIN)/python bench/bench_store.py

clean:
	rm -rf $(VENV) out .cache test-artifacts .pytest_cache
