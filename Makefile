# Rounds: failures in, diagnoses out. `make` lists the targets.

SHELL   := /bin/bash
GO      ?= go
VERSION ?= $(shell cat VERSION)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin/rounds
# Modules of the workspace (go.work); ./... does not cross modules.
MODULES := pkg services/ingest services/diagnose services/report cmd/rounds

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build bin/rounds (static, version stamped)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/rounds

.PHONY: run
run: build ## run every service with an embedded NATS server (state in ./.rounds)
	./$(BIN) run

.PHONY: test
test: ## run every test of every module, with the race detector
	$(GO) test -race -count=1 work

.PHONY: bench
bench: build ## benchmarks: fingerprinting, then ingest against raw JetStream (last line: the ratio)
	$(GO) test -run='^$$' -bench=. -benchmem ./services/ingest/grouping/
	./$(BIN) bench --failures $${FAILURES:-100000}

.PHONY: lint
lint: ## go vet every module, and gofmt
	$(GO) vet work
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

.PHONY: fmt
fmt: ## gofmt every module
	gofmt -w $(MODULES)

.PHONY: tidy
tidy: ## go mod tidy every module, then sync the workspace
	for m in $(MODULES); do (cd $$m && $(GO) mod tidy) || exit 1; done
	$(GO) work sync

.PHONY: check
check: tidy fmt lint test ## what CI checks, and nothing left changed
	git diff --exit-code

.PHONY: docker
docker: ## build rounds:dist and rounds:dev (base images made locally when no registry answers)
	scripts/make-base-images.sh
	scripts/docker-build.sh dist dev

# Settings of make up: .env.rounds if there is one, else .rounds/env.rounds
# (made from the template, and ignored by git like the rest of .rounds).
ROUNDS_ENV_FILE ?= $(if $(wildcard .env.rounds),.env.rounds,.rounds/env.rounds)
COMPOSE := source scripts/lib.sh && export ROUNDS_NATS_IMAGE=$$(nats_image) ROUNDS_ENV_FILE=$(ROUNDS_ENV_FILE) && compose -f docker-compose.rounds.yml

.PHONY: up
up: ## run Rounds on this repository under docker compose (NATS on 127.0.0.1:4222, reports in .rounds/reports)
	@docker image inspect rounds:dist >/dev/null 2>&1 || { scripts/make-base-images.sh && scripts/docker-build.sh dist; }
	@scripts/make-base-images.sh nats
	@mkdir -p .rounds/reports
	@if [ "$$(id -u)" = 0 ]; then chown 1000:1000 .rounds/reports; fi
	@test -e $(ROUNDS_ENV_FILE) || cp .env.rounds.template $(ROUNDS_ENV_FILE)
	$(COMPOSE) up -d

.PHONY: down
down: ## stop what make up started (the volumes, and so the state, are kept)
	$(COMPOSE) down

.PHONY: compose-test
compose-test: ## the deploy test on a real Docker engine: compose up, kills, rolling update, NATS cluster
	scripts/compose-test.sh

.PHONY: clean
clean: ## remove build output and the local state of make run
	rm -rf bin .rounds
