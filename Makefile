# Two entry points for a fresh machine: `make demo` and `make test`. Each sets itself up.
VENV ?= .venv
PY := $(VENV)/bin/python
PG_HOST ?= 127.0.0.1
PG_PORT ?= 5432
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install system-deps postgres demo test lint compose-check ci clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Debian packages the tests drive: headless Chromium for the UI test, docker-compose to validate the compose file.
system-deps:
	@command -v chromium >/dev/null && command -v docker-compose >/dev/null || \
	  ($(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium docker-compose)

# The tests use the real Postgres at $(PG_HOST):$(PG_PORT); start the local cluster when it is down.
postgres:
	@pg_isready -q -h $(PG_HOST) -p $(PG_PORT) || \
	  ($(SUDO) pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | tail -1) main start && sleep 2 && \
	   pg_isready -h $(PG_HOST) -p $(PG_PORT))

demo: install
	$(VENV)/bin/paperclip demo

test: install system-deps postgres
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .

compose-check: system-deps
	docker-compose -f docker-compose.yml config -q

ci: lint compose-check test

clean:
	rm -rf $(VENV) .pytest_cache
