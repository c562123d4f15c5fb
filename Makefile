# FlowBuilder scheduler: one entry point for the local stack, the tests and the image.
# STACK=docker|embedded forces a stack; otherwise .env's STACK, then the stack `make up` last
# started, then docker if a Docker engine answers, else embedded.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STACK_FILE := .stack/kind

# An empty STACK (exported by `set -a; . ./.env`) counts as unset.
STACK := $(or $(STACK),$(shell sed -n 's/^STACK=//p' .env 2>/dev/null | tail -n 1),$(shell cat $(STACK_FILE) 2>/dev/null),$(shell timeout 10 docker info >/dev/null 2>&1 && echo docker || echo embedded))
ifeq ($(filter $(STACK),docker embedded),)
$(error STACK=$(STACK) is not valid: use STACK=docker or STACK=embedded)
endif

# IAC=sam|terraform: the declaration make up and make deploy apply (shell first, then .env, then the one
# `make up` last applied, so make status and make e2e read the stack that runs; default sam).
IAC_FILE := .stack/iac
IAC := $(or $(IAC),$(shell sed -n 's/^IAC=//p' .env 2>/dev/null | tail -n 1),$(shell cat $(IAC_FILE) 2>/dev/null),sam)
ifeq ($(filter $(IAC),sam terraform),)
$(error IAC=$(IAC) is not valid: use IAC=sam (infra/template.yaml) or IAC=terraform (infra/terraform/))
endif
export IAC
DEPLOY_SCRIPT := infra/$(if $(filter terraform,$(IAC)),terraform_deploy.py,deploy.py)
NEED_TERRAFORM := [ "$(IAC)" != terraform ] || command -v terraform >/dev/null || { echo "error: IAC=terraform needs terraform on PATH: install Terraform >= 1.5 (https://developer.hashicorp.com/terraform/install) or leave IAC unset for the SAM template" >&2; exit 1; }

.PHONY: help venv checkov up down clean test test-fast which-python312 test-py312 e2e bench invoke logs queue psql status build push \
	aws preview docker-engine deploy executions simulate docker-e2e watch

# awscli-local 0.23 prints a 12-line deprecation banner on every call otherwise.
export DISABLE_DEPRECATION_NOTICE := 1

# The docker stack publishes the emulator on EMULATOR_PORT (.env); an AWS_ENDPOINT_URL given in the
# shell or on the command line decides it instead, so one variable names the port either way.
COMPOSE := $(if $(filter environment command line,$(origin AWS_ENDPOINT_URL)),EMULATOR_PORT=$(lastword $(subst :, ,$(AWS_ENDPOINT_URL:/=))) )docker compose
# IAC=terraform: every docker compose call adds docker-compose.terraform.yml (COMPOSE_FILE), so the
# emulator's hook runs Terraform with the host's binary and provider mirror; a mirror that is not there is an empty folder of the stack's own.
ifeq ($(IAC),terraform)
export COMPOSE_FILE := docker-compose.yml:docker-compose.terraform.yml
export TERRAFORM_BIN := $(shell command -v terraform >/dev/null && readlink -f "$$(command -v terraform)")
export TF_PLUGIN_MIRROR_HOST := $(or $(shell d="$${TF_PLUGIN_MIRROR:-/opt/tf-plugins}"; [ -d "$$d" ] && echo "$$d"),$(CURDIR)/.stack/terraform/no-mirror)
endif
# Every docker-stack recipe starts with this: without the compose plugin `docker compose up -d` reads as
# `docker -d` and fails with "unknown shorthand flag".
NEED_COMPOSE := command -v docker >/dev/null || { echo "error: docker not found: install Docker, or use STACK=embedded (no Docker needed)" >&2; exit 1; }; \
	docker compose version >/dev/null 2>&1 || { echo "error: docker compose not found: install the compose plugin (docker-compose-plugin), or use STACK=embedded" >&2; exit 1; }

# The stack choice, in one place: what up, down, clean, logs, psql, status and stop/start run on the
# chosen STACK. The targets below only name these (each is a canned recipe: one line per recipe line).
DASHBOARD_URL = http://127.0.0.1:$(or $(DASHBOARD_PORT),$(shell sed -n 's/^DASHBOARD_PORT=//p' .env 2>/dev/null | tail -n 1),8025)
ifeq ($(STACK),docker)
define STACK_UP
	@$(NEED_COMPOSE)
	@$(PY) -m embedded check
	@[ "$(IAC)" = sam ] || mkdir -p .stack/terraform/no-mirror
	$(COMPOSE) up -d --wait
	@mkdir -p .stack && echo docker > $(STACK_FILE)
	@$(PY) -m embedded status --aws-only
	@echo "dashboard: $(DASHBOARD_URL)"
endef
# The function containers the emulator started are on the stack's network and in no compose project: MiniStack
# removes them as it stops, but one it had no time for (compose kills it after 10 s on a slow host), or one
# an earlier emulator left, keeps the network in use. So: stop, remove what is left, then down.
define SWEEP_FUNCTIONS
	$(COMPOSE) stop
	@docker ps -aq --filter network=flow-builder --filter label=ministack | xargs -r docker rm -f >/dev/null
endef
define STACK_DOWN
	@$(NEED_COMPOSE)
	$(SWEEP_FUNCTIONS)
	$(COMPOSE) down
endef
define STACK_CLEAN
	@$(NEED_COMPOSE)
	$(SWEEP_FUNCTIONS)
	$(COMPOSE) down --volumes
	@# down --volumes keeps a declared volume no service of this flavour mounts (localstack-data with ministack).
	@docker volume ls -q --filter label=com.docker.compose.project=flow-builder | xargs -r docker volume rm >/dev/null
	rm -rf .stack
endef
define STACK_LOGS
	@$(PY) -m embedded logs --aws-only
	@$(NEED_COMPOSE)
	$(COMPOSE) logs --tail 40
endef
define STACK_PSQL
	@$(NEED_COMPOSE)
	$(COMPOSE) exec postgres sh -c 'exec psql -U "$$POSTGRES_USER" -d "$$POSTGRES_DB" "$$@"' psql $(ARGS)
endef
define STACK_STATUS
	@$(NEED_COMPOSE)
	$(COMPOSE) ps
	@$(PY) -m embedded status --aws-only
endef
# The worker is a Lambda in the emulator on either stack: `python -m embedded` toggles its SQS mapping.
define STACK_PART
	@$(NEED_COMPOSE)
	@[ -n "$(COMPOSE_SERVICE)" ] || { echo "error: PART=$(PART) is not a part of the stack: use PART=db, emulator, worker or dashboard" >&2; exit 1; }
	$(COMPOSE) $@ $(COMPOSE_SERVICE)
endef
else
define STACK_UP
	@mkdir -p .stack && echo embedded > $(STACK_FILE)
	@$(PY) -m embedded up
endef
# down and clean work in any state: nothing to stop without .stack/, and a missing .venv is made first.
define STACK_DOWN
	@if [ ! -d .stack ]; then echo "nothing to stop: no .stack/ here (make up starts the stack)"; \
	else [ -f $(RUN_STAMP) ] || $(MAKE) --no-print-directory $(RUN_STAMP); $(PY) -m embedded down; fi
endef
define STACK_CLEAN
	@if [ ! -d .stack ]; then echo "nothing to clean: no .stack/ here"; \
	else [ -f $(RUN_STAMP) ] || $(MAKE) --no-print-directory $(RUN_STAMP); $(PY) -m embedded clean; fi
endef
STACK_LOGS = @$(PY) -m embedded logs
STACK_PSQL = @$(PY) -m embedded psql $(ARGS)
STACK_STATUS = @$(PY) -m embedded status
STACK_PART = $(EMBEDDED_PART)
endif
EMBEDDED_PART = @$(PY) -m embedded $@ --part "$(PART)"

help: ## list the commands
	@grep -E '^[a-z0-9. -]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' \
		'{ n = split($$1, names, " "); for (j = 1; j <= n; j++) { name[++k] = names[j]; text[k] = $$2; \
		   if (length(names[j]) > width) width = length(names[j]) } } \
		END { for (i = 1; i <= k; i++) printf "  make %-" width "s  %s\n", name[i], text[i] }'
	@echo "  stack: $(STACK) (STACK=docker|embedded to choose)"

venv: $(STAMP) ## create .venv and install the project with its dev tools

# Two installs: `make up` and the commands that talk to the stack need only the runtime extra (RUN_STAMP);
# the tests, the bench and the linters install the dev extra (STAMP) when first needed. pip's output goes
# to the log; a line per phase comes to the screen.
RUN_STAMP := $(VENV)/.installed-runtime
define pip_install
	@command -v python3 >/dev/null || { echo "error: python3 not found: install Python 3.11+ and retry" >&2; exit 1; }
	@if [ ! -x $(PY) ]; then \
		echo "creating $(VENV)"; \
		python3 -m venv $(VENV) || { rm -rf $(VENV); echo "error: python3 -m venv failed: install the venv module (Debian/Ubuntu: apt-get install python3-venv) and retry" >&2; exit 1; }; \
	fi
	@echo "installing the project's $(1) dependencies into $(VENV) (pip install -e '.[$(1)]'; log: $(VENV)/install.log)"
	@$(PY) -m pip install --disable-pip-version-check --progress-bar off -e '.[$(1)]' 2>&1 | tee $(VENV)/install.log | \
		awk '/^(Collecting|Requirement already)/ && !r { print "  resolving and fetching packages"; r = 1 } \
			/^Collecting/ { n++ } /^Installing collected packages/ { printf "  installing%s\n", (n ? " " n " new packages" : "") } \
			/^Successfully installed/ { print "  installed" } { fflush() }' || { \
		tail -n 5 $(VENV)/install.log >&2; \
		echo "error: pip could not install the $(1) dependencies (full log: $(VENV)/install.log): check your network or package registry (pip config list) and run make again" >&2; exit 1; }
endef

$(STAMP): pyproject.toml
	$(call pip_install,dev)
	@touch $@ $(RUN_STAMP)

# The dev install holds the runtime one.
$(RUN_STAMP): pyproject.toml
	@if [ -f $(STAMP) ] && [ $(STAMP) -nt pyproject.toml ]; then touch $@; else $(MAKE) --no-print-directory runtime-install; fi

.PHONY: runtime-install
runtime-install:
	$(call pip_install,runtime)
	@touch $(RUN_STAMP)

.env: ## create .env from .env.example (ports and settings; an existing .env is kept)
	@(umask 077 && cp .env.example .env)
	@echo "created .env from .env.example (edit it to change ports and settings)"

up: $(RUN_STAMP) .env ## start the stack (docker or embedded), deploy infra/template.yaml (IAC=terraform: infra/terraform/), print what runs where
	@$(NEED_TERRAFORM)
	$(STACK_UP)
	@echo $(IAC) > $(IAC_FILE)

down: ## stop the stack, keep its data
	$(STACK_DOWN)

clean: ## stop the stack and delete its data
	$(STACK_CLEAN)
	@rm -f $(IAC_FILE)

# The suite on TEST_WORKERS pytest-xdist workers (0: one process), each with its own PostgreSQL and emulator on
# free ports, a file's tests on one worker (test_cli's checkout is one stack for the file), the longest files
# first (tests/conftest.py). Four on 2 cores: most of the suite waits on its services (docs/test-suite.md).
TEST_WORKERS ?= 4
test: $(STAMP) ## every test that needs no running stack (starts its own Postgres and emulator)
	$(PY) -m pytest tests --ignore=tests/e2e $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)

# The tests that start no service: parsers, planning, the template, the compose and shell files.
FAST_TESTS := tests/unit tests/docs tests/infra tests/dashboard/test_pieces.py tests/docker/test_dockerfile.py \
	tests/docker/test_compose.py tests/docker/test_shell_scripts.py tests/stack/test_envfile.py \
	tests/stack/test_function_settings.py tests/stack/test_process_start.py tests/stack/test_status_ticks.py tests/stack/test_watch_affected.py
# Two workers, a file's tests on one: checkov and terraform validate are processes that keep a core busy each.
test-fast: $(STAMP) ## the unit and pure tests (no PostgreSQL, no emulator): seconds
	$(PY) -m pytest $(FAST_TESTS) -q -n 2 --dist loadfile

# checkov in its own venv: its pinned dependencies conflict with the project's (never in .venv).
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
checkov: $(CHECKOV_STAMP) ## install the pinned checkov (CHECKOV_VERSION) into .venv-checkov (tests/infra/test_checkov.py runs it)
$(CHECKOV_STAMP):
	@command -v python3 >/dev/null || { echo "error: python3 not found: install Python 3.11+ and retry" >&2; exit 1; }
	@echo "installing checkov $(CHECKOV_VERSION) into $(CHECKOV_VENV) (log: $(CHECKOV_VENV).log)"
	@rm -rf $(CHECKOV_VENV) && python3 -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/python -m pip install --disable-pip-version-check checkov==$(CHECKOV_VERSION) >$(CHECKOV_VENV).log 2>&1 \
		|| { echo "error: pip install checkov==$(CHECKOV_VERSION) failed: see $(CHECKOV_VENV).log" >&2; exit 1; }
	@touch $@

PY312 := .venv-py312
# python3.12 on PATH, else one pyenv installed (its shim alone answers "command not found").
PYTHON312 ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python; do "$$p" --version >/dev/null 2>&1 && { echo "$$p"; break; }; done)

which-python312: ## print the python3.12 that test-py312 uses (nothing if there is none)
	@echo $(PYTHON312)

test-py312: ## the unit tests on python3.12 (the Lambda runtime) with only the pinned runtime requirements
	@[ -n "$(PYTHON312)" ] || { echo "error: no python3.12 found: install one (or set PYTHON312=/path/to/python3.12)" >&2; exit 1; }
	@[ -x $(PY312)/bin/python ] || $(PYTHON312) -m venv $(PY312)
	@$(PY312)/bin/python -m pip install --quiet --disable-pip-version-check -r scheduler_lambda/requirements.txt \
		$$(grep -oE '"(hypothesis|pytest)==[^"]+"' pyproject.toml | tr -d '"')
	PYTHONPATH=scheduler_lambda:lambda_common $(PY312)/bin/python -m pytest -q --noconftest -p no:cacheprovider tests/unit

e2e: $(STAMP) ## end-to-end tests against the stack `make up` started
	$(PY) -m pytest tests/e2e -m e2e

bench: $(STAMP) ## the benchmark: table on screen, bench/results.json and .png
	$(PY) -m bench

.PHONY: dashboard-measure screenshots
dashboard-measure: $(STAMP) ## the dashboard's page latency with 10,000 workflows and 100,000 executions
	$(PY) -m bench.dashboard_pages

screenshots: $(STAMP) ## retake docs/dashboard-*.png with the dashboard's browser tests
	DASHBOARD_SCREENSHOTS=1 $(PY) -m pytest tests/dashboard -q

invoke: $(RUN_STAMP) ## invoke the scheduler Lambda through the emulator, print its summary
	@$(PY) -m embedded invoke

watch: $(RUN_STAMP) .env ## a saved edit under flow_scheduler/ or flow_worker/ becomes that function's running code in seconds
	@$(PY) -m embedded watch

logs: $(RUN_STAMP) ## both functions' logs and the stack's own; FOLLOW=1 keeps printing the functions' new lines
	$(if $(FOLLOW),@$(PY) -m embedded logs --aws-only --follow,$(STACK_LOGS))

queue: $(RUN_STAMP) ## peek at the queue and its DLQ (the emulator's record: no receive counted, nothing consumed)
	@$(PY) -m embedded queue

executions: $(RUN_STAMP) ## the latest executions with their timings (scheduled, queued, started, finished) and errors
	@$(PY) -m embedded executions

simulate: $(RUN_STAMP) ## dry run of the rule's ticks over a window, nothing written: make simulate FROM=2026-12-01T09:00Z TO=2026-12-01T13:00Z (JSON=1 WORKFLOW=<id> RUN_SECONDS=N)
	@[ -n "$${FROM:-}" ] && [ -n "$${TO:-}" ] || { echo 'error: FROM and TO are not both set: make simulate FROM=2026-12-01T09:00:00Z TO=2026-12-01T13:00:00Z' >&2; exit 2; }
	@set -a; [ ! -f .env ] || . ./.env; set +a; $(PY) -m flow_scheduler simulate --from "$$FROM" --to "$$TO" \
		$(if $(JSON),--json) $(if $(WORKFLOW),--workflow "$(WORKFLOW)") $(if $(RUN_SECONDS),--run-seconds "$(RUN_SECONDS)")

psql: $(RUN_STAMP) ## SQL shell on the stack's database; ARGS go to psql: make psql ARGS="-c 'SELECT 1'"
	$(STACK_PSQL)

status: $(RUN_STAMP) ## health of each part and the scheduler's last tick; exit 1 if one is down or the tick failed
	$(STACK_STATUS)

aws: $(RUN_STAMP) ## any AWS CLI call on this stack's emulator (.env's endpoint): make aws ARGS="sqs list-queues"
	@$(PY) -m embedded aws $(ARGS)

preview: $(RUN_STAMP) ## next runs of a schedule: make preview CRON="cron(0 9 ? * MON-FRI *)" TZ=Europe/Berlin N=5
	@[ -n "$${CRON:-}" ] || { echo 'error: CRON is not set: make preview CRON="*/5 * * * *" (TZ=Europe/Berlin N=5 optional)' >&2; exit 1; }
	@$(PY) -m flow_scheduler preview "$$CRON" --tz "$(if $(filter command line,$(origin TZ)),$(TZ),UTC)" -n "$(or $(N),5)"

# build and push need a Docker engine: say so in one line before anything starts.
docker-engine:
	@command -v docker >/dev/null || { echo "error: 'docker' not found: install Docker (or use the embedded stack, which needs none) and retry" >&2; exit 1; }
	@timeout 10 docker info >/dev/null 2>&1 || { echo "error: no Docker engine answers 'docker info': start Docker (Docker Desktop, or 'systemctl start docker') and retry" >&2; exit 1; }

build: docker-engine ## docker build of the Lambda image
	docker build -t flow-builder-scheduler -f scheduler_lambda/Dockerfile .

push: docker-engine ## build, push to ECR and point the function at the image
	scheduler_lambda/build_and_push.sh

docker-e2e: $(STAMP) ## the docker path end to end (engine, stand-ins if no registry, up, e2e, push, image tick, clean)
	tests/docker/docker_e2e.sh

# Your shell's environment only, never .env (local values): see README, "Building and deploying".
deploy: $(RUN_STAMP) ## deploy infra/template.yaml (IAC=terraform: infra/terraform/) to AWS (or wherever AWS_ENDPOINT_URL points)
	@$(NEED_TERRAFORM)
	@$(PY) $(DEPLOY_SCRIPT)

.PHONY: workflow workflows
workflow: $(RUN_STAMP) ## add a workflow: make workflow NAME="Nightly export" CRON="0 2 * * *" TZ=Europe/Paris (OWNER=<uuid>, STATUS=draft optional)
	@$(PY) -m embedded workflow --name "$${NAME:-}" --cron "$${CRON:-}" --tz "$(if $(filter command line,$(origin TZ)),$(TZ),UTC)" \
		--owner "$${OWNER:-}" --status "$${STATUS:-}"

workflows: $(RUN_STAMP) ## list the workflows, the next to run first
	@$(PY) -m embedded workflows

# Failure drills (docs/try-a-failure.md): STACK_PART above says how each stack stops and starts a part.
COMPOSE_SERVICE = $(or $(word 2,$(subst :, ,$(filter $(PART):%,db:postgres emulator:emulator dashboard:dashboard))),)
.PHONY: stop start
stop start: $(RUN_STAMP) ## stop (start) one part, to watch a failure: make stop PART=db|emulator|worker|dashboard
	@[ -n "$(PART)" ] || { echo "error: PART is not set: make $@ PART=db (or emulator, worker, dashboard)" >&2; exit 1; }
	$(if $(filter worker,$(PART)),$(EMBEDDED_PART),$(STACK_PART))
