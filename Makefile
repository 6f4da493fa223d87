# Two entry points for a fresh machine: `make demo` and `make test`. Each sets itself up.
VENV ?= .venv
PY := $(VENV)/bin/python
UV ?= $(VENV)/bin/uv
PG_HOST ?= 127.0.0.1
PG_PORT ?= 5432
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
REQ ?= requirements

.PHONY: install system-deps postgres demo test lint compose-check lock requirements ci clean

# Installs come from the lock: uv.lock, exported with hashes to requirements/*.txt (`make lock`),
# installed by pip, which takes torch from a local wheel where there is one (uv would not).
$(VENV)/.installed: requirements/dev.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --no-deps --require-hashes -r requirements/dev.txt
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m pip check
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

# The default stack and the `gpu` profile must both be valid compose files.
compose-check: system-deps
	docker-compose -f docker-compose.yml config -q
	docker-compose -f docker-compose.yml --profile gpu config -q

# After changing dependencies in pyproject.toml: re-resolve uv.lock, then re-export (uv comes
# with the dev extra: `make install` first, or pass UV=/path/to/uv).
lock:
	$(UV) lock
	$(MAKE) requirements

# One file per install; the *-cpu files leave out torch (and what only torch needs), which a
# CPU image takes from PyTorch's CPU index. tests/deploy checks these match uv.lock.
EXPORT = $(UV) export --quiet --frozen --no-header --no-emit-project
HEADER = @echo "\# Generated from uv.lock by \`make lock\` ($(1)); do not edit." > $(REQ)/$(2)
requirements:
	@mkdir -p $(REQ)
	$(call HEADER,the dev venv: every extra with faiss-cpu,dev.txt)
	$(EXPORT) --extra serve --extra index --extra harvest --extra train --extra dev --extra cpu >> $(REQ)/dev.txt
	$(call HEADER,the service alone; torch apart,serve-cpu.txt)
	$(EXPORT) --extra serve --extra cpu --prune torch --prune torchvision >> $(REQ)/serve-cpu.txt
	$(call HEADER,the CPU image; torch apart,image-cpu.txt)
	$(EXPORT) --extra serve --extra index --extra harvest --extra cpu --prune torch --prune torchvision >> $(REQ)/image-cpu.txt
	$(call HEADER,the CUDA image: torch's CUDA build and faiss-gpu-cu12,image-gpu.txt)
	$(EXPORT) --extra serve --extra index --extra harvest --extra gpu >> $(REQ)/image-gpu.txt

ci: lint compose-check test

clean:
	rm -rf $(VENV) .pytest_cache
