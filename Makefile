# The only set-up a new user needs: `make run` (dashboard) and `make test` (checks). See README.md.
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.gildash-installed

.PHONY: run test venv python-ft rust rust-test system-deps lint typecheck pytest bench clean

# Re-install when the dependency list changes; a plain re-run is a no-op.
$(STAMP): pyproject.toml
	@test -x $(VPY) || { echo "[venv] creating $(VENV) with $(PY)"; $(PY) -m venv $(VENV); }
	@echo "[venv] installing gildash and its dev tools into $(VENV) (about a minute the first time)"
	@$(VPY) -m pip install -q --disable-pip-version-check --upgrade pip
	@$(VPY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

## A verified free-threaded CPython: found on the machine, or built once into ~/.cache/gildash (~3 min).
python-ft: venv
	@$(VPY) -m gildash.engine.provision

## The Rust std::thread baseline, built into the cache when cargo exists (skipped with a note otherwise).
rust: venv
	@$(VPY) -c "from gildash.engine.rust_target import rust_binary; p, why = rust_binary(); print('[rust]', p or ('unavailable: ' + why))"

## The Rust unit tests (skipped with a note when cargo is missing).
rust-test:
	@if command -v cargo >/dev/null 2>&1; then cargo test --offline --quiet --manifest-path rust_cpu_bench/Cargo.toml; \
	else echo "[rust] cargo not found: Rust unit tests skipped"; fi

## tmux (end-to-end tests) and openssh-server (the remote tests' loopback sshd), installed when missing and we may.
system-deps:
	@bash scripts/system_deps.sh

run: venv python-ft rust
	@$(VENV)/bin/gildash

lint: venv
	$(VENV)/bin/ruff check gildash tests workloads scripts
	$(VENV)/bin/ruff format --check gildash tests workloads scripts
	$(VENV)/bin/lint-imports

typecheck: venv
	$(VENV)/bin/mypy

pytest: venv
	GILDASH_REQUIRE_FT=1 GILDASH_REQUIRE_SSHD=1 $(VENV)/bin/pytest -q -p no:cacheprovider

test: venv system-deps python-ft rust lint typecheck rust-test pytest

## Figures, not pass/fail: observer cost, perturbation, ingestion, accuracy, start-up, scaling fidelity.
bench: venv python-ft rust
	$(VPY) scripts/bench.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache rust_cpu_bench/target
