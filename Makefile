# Every target sets up what it needs: a fresh clone runs `make up` or `make test` directly.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON      ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
export DOCKER ?= /usr/bin/docker

# Terraform providers: from a local filesystem mirror when TF_PROVIDER_MIRROR names one (it defaults to this
# machine's mirror when present); otherwise Terraform installs providers from the registry as usual.
TF_PROVIDER_MIRROR ?= $(wildcard /opt/tf-plugins)
ifneq ($(strip $(TF_PROVIDER_MIRROR)),)
export TF_CLI_CONFIG_FILE := $(CURDIR)/.cache/terraform.rc
endif
export TF_PLUGIN_CACHE_DIR := $(CURDIR)/.cache/terraform-plugins
export TF_IN_AUTOMATION := 1
# Terraform and the AWS provider (a 700 MB Go binary started three times per plan, most of its start spent
# building its schema) collect garbage less often: about a fifth less CPU per plan, ~700 MB per provider.
export GOGC ?= 400

# Tests run against containers from locally built images unless *_IMAGE says otherwise.
export TESTCONTAINERS_RYUK_DISABLED := true

.PHONY: help
help: ## Lists the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements-dev.txt artifacts/update_indices/requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing pinned dev dependencies into $(VENV)"
	@mkdir -p .cache
	@$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt > .cache/pip.log 2>&1 \
	  || { cat .cache/pip.log >&2; exit 1; }
	@touch $@

.PHONY: venv
venv: $(VENV)/.installed ## Creates .venv with the pinned dev dependencies

.PHONY: terraform-config
terraform-config: ## Writes the Terraform CLI config that points at TF_PROVIDER_MIRROR
	@mkdir -p .cache/terraform-plugins
ifneq ($(strip $(TF_PROVIDER_MIRROR)),)
	@printf 'provider_installation {\n  filesystem_mirror {\n    path    = "%s"\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n' \
	  "$(TF_PROVIDER_MIRROR)" > .cache/terraform.rc
endif

# Lock files: the registry's checksums for every platform a developer or CI uses (tests/infra/test_lock_files.py).
# `terraform providers lock` asks the provider's origin registry whatever the CLI config says, so this needs the
# registry (this machine has only a mirror: the committed locks carry the published zh: checksums already).
LOCK_PLATFORMS := linux_amd64 linux_arm64 darwin_amd64 darwin_arm64
.PHONY: providers-lock
# Every unit (live/<env>/<unit>/terragrunt.hcl) gets one, from the module its _envcommon file names as source.
providers-lock: ## Refreshes every unit's live/*/*/.terraform.lock.hcl from the registry for LOCK_PLATFORMS
	@set -e; for config in live/*/*/terragrunt.hcl; do unit=$$(dirname $$config); name=$$(basename $$unit); \
	  module=$$(sed -n 's|.*/modules//\([A-Za-z0-9_-]*\)".*|\1|p' live/_envcommon/$$name.hcl); \
	  [ -n "$$module" ] && [ -d modules/$$module ] || { echo "$$unit: no module named in live/_envcommon/$$name.hcl" >&2; exit 1; }; \
	  work=$$(mktemp -d); cp modules/$$module/*.tf $$work/; \
	  if [ -f $$unit/.terraform.lock.hcl ]; then cp $$unit/.terraform.lock.hcl $$work/; fi; \
	  (cd $$work && terraform providers lock $(addprefix -platform=,$(LOCK_PLATFORMS)) >/dev/null); \
	  cp $$work/.terraform.lock.hcl $$unit/.terraform.lock.hcl; rm -rf $$work; echo "locked $$unit ($$module)"; done

.PHONY: docker
docker: ## Makes sure a Docker engine runs (installs Debian's docker.io when missing and root)
	@tests/images/engine.sh

.PHONY: images
images: docker venv ## Builds the local images (Debian/Python base, OpenSearch stand-in, moto, Lambda base); installs the registry
	@PATH=$(CURDIR)/$(VENV)/bin:$$PATH tests/images/build.sh
	@tests/images/registry.sh >/dev/null

IMAGE_TAG ?= books-indexer:latest
PLATFORM  ?= linux/amd64
.PHONY: image
image: docker ## Builds the indexer's image as IMAGE_TAG for PLATFORM (deploys build it in the apply: README, Deploy)
	@DOCKER=$(DOCKER) PLATFORM=$(PLATFORM) artifacts/update_indices/build-image.sh "$(IMAGE_TAG)" $(BASE_IMAGE)

BASE_IMAGE_TAG ?= public.ecr.aws/lambda/python:3.11
.PHONY: base-image-pin
base-image-pin: docker ## Pins the indexer's base image (BASE_IMAGE_TAG) to its newest digest in artifacts/update_indices/base-image
	@$(DOCKER) pull --quiet $(BASE_IMAGE_TAG) >/dev/null
	@digest=$$($(DOCKER) image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' $(BASE_IMAGE_TAG) \
	  | sed -n 's/^.*@\(sha256:[0-9a-f]\{64\}\)$$/\1/p' | head -n 1); \
	  test -n "$$digest" || { echo "no registry digest for $(BASE_IMAGE_TAG)" >&2; exit 1; }; \
	  echo "$(BASE_IMAGE_TAG)@$$digest" > artifacts/update_indices/base-image; \
	  echo "pinned $(BASE_IMAGE_TAG)@$$digest: commit artifacts/update_indices/base-image (a new image tag follows)"

# Promotion (README, Deploy): prod runs the digest dev's function runs, recorded in a committed file.
.PHONY: promote
promote: ## Records the image dev's indexer runs (by digest) in live/prod/release.hcl, for prod's next apply
	@uri=$$(aws lambda get-function --region eu-west-1 --function-name books-dev-indexer \
	  --query 'Code.ResolvedImageUri' --output text); \
	  case "$$uri" in *@sha256:*) ;; *) echo "dev's function names no image digest: $$uri" >&2; exit 1;; esac; \
	  sed -i "s|^  indexer_image_uri = .*|  indexer_image_uri = \"$$uri\"|" live/prod/release.hcl; \
	  echo "prod will run $$uri: commit live/prod/release.hcl, then apply live/prod"

.PHONY: docs
docs: venv ## Regenerates the Inputs/Outputs tables of the modules' READMEs from their variables and outputs
	@$(PY) tests/infra/readme_tables.py

.PHONY: lint
lint: venv terraform-config ## ruff and terraform fmt
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check --quiet . || { echo "run: .venv/bin/ruff format ." >&2; exit 1; }
	@for d in $(wildcard modules live); do terraform fmt -check -recursive $$d >/dev/null \
	  || { echo "terraform fmt would change:" >&2; terraform fmt -check -recursive -list=true $$d >&2; exit 1; }; done

# The ASL tests' validator (npm's asl-validator, pinned by tests/asl/package-lock.json); node and npm must exist.
tests/asl/node_modules/.installed: tests/asl/package.json tests/asl/package-lock.json
	@cd tests/asl && npm ci --no-audit --no-fund --silent
	@touch $@

.PHONY: asl
asl: tests/asl/node_modules/.installed ## Installs the pinned asl-validator that tests/asl runs (npm ci)

# The whole suite runs as three pytest sessions side by side (this machine has 2 cores, and the infrastructure
# tests spend much of their time waiting on Terraform, the provider's polling, moto and Docker builds):
# BOOKS_TEST_SESSION=infra-a and =infra-b share tests/infra and tests/asl, =rest runs everything else
# (tests/conftest.py draws the lines), each with its own temp directory and Terraform plugin cache (concurrent
# inits on one cache race). The infrastructure sessions' output follows the rest's, each live from then on
# (tail --pid) until it ends. With PYTEST_ARGS (e.g. a path or -k), one session runs exactly what they name.
INFRA_SESSIONS := infra-a infra-b
.PHONY: test
test: venv images terraform-config lint asl ## Runs the whole test suite (sets up everything it needs)
ifeq ($(strip $(PYTEST_ARGS)),)
	@rm -rf .cache/pytest-*; pids=""; \
	for session in $(INFRA_SESSIONS); do mkdir -p .cache/terraform-plugins-$$session; \
	  BOOKS_TEST_SESSION=$$session TF_PLUGIN_CACHE_DIR=$(CURDIR)/.cache/terraform-plugins-$$session \
	    $(PY) -m pytest --basetemp=.cache/pytest-$$session > .cache/test-$$session.log 2>&1 & pids="$$pids $$!"; \
	done; \
	BOOKS_TEST_SESSION=rest $(PY) -m pytest --basetemp=.cache/pytest-rest; failed=$$?; \
	set -- $$pids; for session in $(INFRA_SESSIONS); do pid=$$1; shift; \
	  echo "==================== the $$session session (tests/infra, tests/asl: tests/conftest.py) ===================="; \
	  tail -n +1 -f --pid=$$pid .cache/test-$$session.log; wait $$pid; status=$$?; \
	  echo "the $$session session exited $$status"; [ $$status = 0 ] || failed=1; \
	done; \
	exit $$failed
else
	@$(PY) -m pytest $(PYTEST_ARGS)
endif

# Which local stack `make up/down/logs` mean: books (live/local) or orders (live/local-orders, the worked
# example of a single-table design, README.md "Single-table designs"). Both can run side by side.
STACK ?= $(or $(BOOKS_STACK),books)
STACK_STATE := $(if $(filter orders,$(STACK)),.state-orders,.state)

.PHONY: up
up: venv terraform-config ## Starts the whole system on this machine (local/README.md; STACK=orders for the orders example)
	@BOOKS_STACK=$(STACK) PYTHONPATH=local $(PY) -m books_local up

.PHONY: down
down: ## Stops what `make up` started and removes its state directory (STACK=orders: the orders example's)
	@if [ -x $(PY) ]; then BOOKS_STACK=$(STACK) PYTHONPATH=local $(PY) -m books_local down; else rm -rf $(STACK_STATE); fi

.PHONY: status
status: ## Shows the local stack's processes and figures: indexer counts and lag, the stream's backlog, DLQ, index (STATUS_ARGS="--watch 2")
	@PYTHONPATH=local $(PY) -m books_local status $(STATUS_ARGS)

.PHONY: logs
logs: ## Shows the local stack's logs (LOGS_ARGS="-f" follows, LOGS_ARGS="indexer" picks one; STACK=orders)
	@BOOKS_STACK=$(STACK) PYTHONPATH=local $(PY) -m books_local logs $(LOGS_ARGS)

.PHONY: load-orders
load-orders: ## Writes example orders and customers into the orders example (after `make up STACK=orders`)
	@PYTHONPATH=local $(PY) -m books_local load-orders $(LOAD_ARGS)

.PHONY: bench
bench: venv images terraform-config ## Runs the benchmarks (BENCH=name... for some) and writes docs/benchmarks.{json,md} and README's figures
	@$(VENV)/bin/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	@$(PY) -m bench $(BENCH)

.PHONY: bench-report
bench-report: venv ## Re-renders docs/benchmarks.md and README's figures from docs/benchmarks.json
	@$(PY) -m bench.report --from-json

.PHONY: clean
clean: ## Removes the virtualenv and caches (not the Docker images)
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache
