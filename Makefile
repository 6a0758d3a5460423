# stackgate: OpenStack APIs compiled from the upstream specs, in front of other clouds.
#
#   make run          install what is missing, build, start the sandbox on 127.0.0.1
#   make test         everything CI checks (generated/ and reports fresh, types, tests; store suites on SQLite and PostgreSQL)
#   make regen        specs/ + specs/patches/ → generated/
#   make import-specs ../shared/openstack-specs → specs/ (and specs/previous/)
#   make matrix       reports/matrix.{json,md,html}
#   make spec-diff    reports/spec-diff-previous-to-current.{md,json}
#   make bench        figures against same-run baselines (needs wrk) → reports/bench.{json,svg}
#   make conformance-identity   Tempest tempest.api.identity → reports/conformance.*
#   make conformance  every Tempest area (identity, compute, image.v2, volume, network)
#   make conformance-passthrough  Tempest image.v2 on Debian's Glance, directly and through the passthrough

SHELL := /bin/bash
NODE  ?= node
TSX   := $(NODE) --import tsx
HOST  ?= 127.0.0.1
PORT  ?= 8000
# make run keeps its config, keys, database and clouds.yaml here.
RUN_DIR ?= .stackgate

.PHONY: install regen build run test matrix spec-diff bench import-specs clean check-generated conformance-identity conformance conformance-passthrough

# npm ci when node_modules is missing or older than the lock file.
node_modules/.package-lock.json: package.json package-lock.json
	@command -v $(NODE) >/dev/null || { echo "make: Node.js 20+ is needed (apt-get install nodejs npm)"; exit 1; }
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.package-lock.json

import-specs: install
	scripts/import-specs
	scripts/import-specs --previous

regen: install
	$(TSX) codegen/index.ts

build: install
	npx tsc -p .

run: build
	@test -f $(RUN_DIR)/stackgate.yaml || $(NODE) dist/src/cli.js init --dir $(RUN_DIR) --host $(HOST) --port $(PORT)
	$(NODE) dist/src/cli.js serve --config $(RUN_DIR)/stackgate.yaml

matrix: install
	$(TSX) scripts/matrix.ts

spec-diff: install
	$(TSX) scripts/spec-diff.ts --out reports/spec-diff-previous-to-current

bench: build
	$(TSX) scripts/bench.ts

check-generated: install
	$(TSX) codegen/index.ts --check
	$(TSX) scripts/matrix.ts --check
	$(TSX) scripts/spec-diff.ts --out reports/spec-diff-previous-to-current --check

# The second run: the suites that exercise the store (sandbox, identity, fuzzing, the CLI scenario)
# again with every test gateway on a fresh PostgreSQL database (test/helpers/postgres.ts).
POSTGRES_TESTS := test/contract/store-engine.test.ts 'test/contract/sandbox-*.test.ts' test/contract/keystone-extensions.test.ts \
  test/contract/policy.test.ts test/contract/tokens-hardening.test.ts test/contract/every-operation.test.ts \
  test/clients/openstack-scenario.test.ts test/clients/openstacksdk.test.ts \
  test/fuzz/compute.test.ts test/fuzz/network.test.ts test/fuzz/block-storage.test.ts test/fuzz/image.test.ts test/fuzz/identity.test.ts \
  test/zz-secrets-scan.test.ts

test: check-generated build
	npx mocha 'test/**/*.test.ts'
	STACKGATE_TEST_STORE=postgres npx mocha $(POSTGRES_TESTS)

# Tempest against a fresh gateway, per area: reports/conformance.{json,md}
conformance-identity: build
	$(TSX) scripts/conformance.ts --area identity

# Every area (the network area alone takes ~25 min: Tempest sleeps in its subnet cleanup).
# Debian's Keystone + Glance on loopback: Tempest image.v2 straight at them, then through a passthrough region.
conformance-passthrough:
	$(TSX) scripts/upstream-openstack/tempest-image.ts

conformance: build
	for area in identity compute image.v2 volume network; do $(TSX) scripts/conformance.ts --area $$area --timeout 3000 || exit 1; done

clean:
	rm -rf dist
