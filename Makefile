# Portico developer commands. `make help` lists them.
SHELL := /bin/bash
CARGO ?= cargo
ADVISORY_SNAPSHOT ?= ../shared/tools/advisory-db
export PORTICO_ADVISORY_DB ?= target/advisory-dbs

.PHONY: help check lint fmt clippy doc deny advisory-db test examples services client run bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

check: lint test examples ## Everything CI checks: fmt, clippy, docs, deny, tests, examples

lint: fmt clippy doc deny ## Static checks only

fmt: ## rustfmt, check only
	$(CARGO) fmt --all -- --check

clippy: ## clippy on every target, warnings are errors
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

doc: ## rustdoc without warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --all-features

advisory-db: ## Prepare the offline RustSec database (needs ../shared)
	@if [ -x "$(ADVISORY_SNAPSHOT)" ]; then "$(ADVISORY_SNAPSHOT)" "$(PORTICO_ADVISORY_DB)" >/dev/null; \
	else echo "advisory-db: $(ADVISORY_SNAPSHOT) not found; advisories will not be checked"; fi

deny: advisory-db ## cargo-deny: licenses, bans, sources, and advisories when the database is there
	$(CARGO) fetch --quiet
	$(CARGO) deny --offline check licenses bans sources
	@if [ -d "$(PORTICO_ADVISORY_DB)" ]; then $(CARGO) deny --offline check advisories; \
	else echo "deny: skipping advisories (no database at $(PORTICO_ADVISORY_DB))"; fi

services: ## Check PostgreSQL, Redis and a MongoDB-compatible server on loopback; start what is missing
	./scripts/services.sh

test: services ## Every test (unit, contract suite on SQLite and PostgreSQL, journeys)
	$(CARGO) test --workspace --doc --all-features
	$(CARGO) nextest run --workspace --all-features --no-fail-fast

examples: ## Run the compiled examples (embed, contract) and check what they print
	./scripts/examples.sh

client: ## Lint the OpenAPI document, regenerate and build the TypeScript client, smoke-test it
	./scripts/client-check.sh

run: ## Run the HTTP server on 127.0.0.1:8080 with no configuration (SQLite, files under ./data)
	$(CARGO) run --release -p portico -- serve

bench: ## Load figures per backend into bench/results/<date>.md (release build, wrk, ~15 min)
	./bench/run.sh

clean: ## Remove build output
	$(CARGO) clean
