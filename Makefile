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

.PHONY: help venv up down clean test which-python312 test-py312 e2e bench invoke logs queue psql status build push \
	aws preview docker-engine deploy executions

# awscli-local 0.23 prints a 12-line deprecation banner on every call otherwise.
export DISABLE_DEPRECATION_NOTICE := 1

# The docker stack publishes the emulator on EMULATOR_PORT (.env); an AWS_ENDPOINT_URL given in the
# shell or on the command line decides it instead, so one variable names the port either way.
COMPOSE := $(if $(filter environment command line,$(origin AWS_ENDPOINT_URL)),EMULATOR_PORT=$(lastword $(subst :, ,$(AWS_ENDPOINT_URL:/=))) )docker compose
# Every docker-stack recipe starts with this: without the compose plugin `docker compose up -d` reads as
# `docker -d` and fails with "unknown shorthand flag".
NEED_COMPOSE := command -v docker >/dev/null || { echo "error: docker not found: install Docker, or use STACK=embedded (no Docker needed)" >&2; exit 1; }; \
	docker compose version >/dev/null 2>&1 || { echo "error: docker compose not found: install the compose plugin (docker-compose-plugin), or use STACK=embedded" >&2; exit 1; }

help: ## list the commands
	@grep -E '^[a-z0-9.-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' \
		'{ name[NR] = $$1; text[NR] = $$2; if (length($$1) > width) width = length($$1) } \
		END { for (i = 1; i <= NR; i++) printf "  make %-" width "s  %s\n", name[i], text[i] }'
	@echo "  stack: $(STACK) (STACK=docker|embedded to choose)"

venv: $(STAMP) ## create .venv and install the project with its dev tools

$(STAMP): pyproject.toml
	@command -v python3 >/dev/null || { echo "error: python3 not found: install Python 3.11+ and retry" >&2; exit 1; }
	@if [ ! -x $(PY) ]; then \
		echo "creating $(VENV)"; \
		python3 -m venv $(VENV) || { rm -rf $(VENV); echo "error: python3 -m venv failed: install the venv module (Debian/Ubuntu: apt-get install python3-venv) and retry" >&2; exit 1; }; \
	fi
	@echo "installing the project and its dev tools into $(VENV) (pip install -e '.[dev]', about a minute; log: $(VENV)/install.log)"
	@$(PY) -m pip install --disable-pip-version-check -e '.[dev]' >$(VENV)/install.log 2>&1 || { \
		tail -n 5 $(VENV)/install.log >&2; \
		echo "error: pip could not install the dev dependencies (full log: $(VENV)/install.log): check your network or package registry (pip config list) and run make again" >&2; exit 1; }
	@touch $@

.env: ## create .env from .env.example (ports and settings; an existing .env is kept)
	@(umask 077 && cp .env.example .env)
	@echo "created .env from .env.example (edit it to change ports and settings)"

up: $(STAMP) .env ## start the stack (docker or embedded), deploy infra/template.yaml, print what runs where
ifeq ($(STACK),docker)
	@$(NEED_COMPOSE)
	@$(PY) -m embedded check
	$(COMPOSE) up -d --wait
	@mkdir -p .stack && echo docker > $(STACK_FILE)
	@$(PY) -m embedded status --aws-only
	@echo "dashboard: http://127.0.0.1:$(or $(DASHBOARD_PORT),$(shell sed -n 's/^DASHBOARD_PORT=//p' .env 2>/dev/null | tail -n 1),8025)"
else
	@mkdir -p .stack && echo embedded > $(STACK_FILE)
	@$(PY) -m embedded up
endif

# down and clean work in any state: nothing to stop without .stack/, and a missing .venv is made first.
down: ## stop the stack, keep its data
ifeq ($(STACK),docker)
	@$(NEED_COMPOSE)
	$(COMPOSE) down
else
	@if [ ! -d .stack ]; then echo "nothing to stop: no .stack/ here (make up starts the stack)"; \
	else [ -f $(STAMP) ] || $(MAKE) --no-print-directory venv; $(PY) -m embedded down; fi
endif

clean: ## stop the stack and delete its data
ifeq ($(STACK),docker)
	@$(NEED_COMPOSE)
	$(COMPOSE) down --volumes
	rm -rf .stack
else
	@if [ ! -d .stack ]; then echo "nothing to clean: no .stack/ here"; \
	else [ -f $(STAMP) ] || $(MAKE) --no-print-directory venv; $(PY) -m embedded clean; fi
endif

test: $(STAMP) ## every test that needs no running stack (starts its own Postgres and emulator)
	$(PY) -m pytest tests --ignore=tests/e2e

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
	PYTHONPATH=scheduler_lambda $(PY312)/bin/python -m pytest -q --noconftest -p no:cacheprovider tests/unit

e2e: $(STAMP) ## end-to-end tests against the stack `make up` started
	$(PY) -m pytest tests/e2e -m e2e

bench: $(STAMP) ## the benchmark: table on screen, bench/results.json and .png
	$(PY) -m bench

.PHONY: dashboard-measure screenshots
dashboard-measure: $(STAMP) ## the dashboard's page latency with 10,000 workflows and 100,000 executions
	$(PY) -m dashboard.measure

screenshots: $(STAMP) ## retake docs/dashboard-*.png with the dashboard's browser tests
	DASHBOARD_SCREENSHOTS=1 $(PY) -m pytest tests/dashboard -q

invoke: $(STAMP) ## invoke the scheduler Lambda through the emulator, print its summary
	@$(PY) -m embedded invoke

logs: $(STAMP) ## both functions' logs and the stack's own; FOLLOW=1 keeps printing the functions' new lines
ifeq ($(FOLLOW),)
ifeq ($(STACK),docker)
	@$(PY) -m embedded logs --aws-only
	@$(NEED_COMPOSE)
	$(COMPOSE) logs --tail 40
else
	@$(PY) -m embedded logs
endif
else
	@$(PY) -m embedded logs --aws-only --follow
endif

queue: $(STAMP) ## peek at the queue and its DLQ (messages are not consumed)
	@$(PY) -m embedded queue

executions: $(STAMP) ## the latest executions with their timings (scheduled, queued, started, finished) and errors
	@$(PY) -m embedded executions

psql: $(STAMP) ## SQL shell on the stack's database; ARGS go to psql: make psql ARGS="-c 'SELECT 1'"
ifeq ($(STACK),docker)
	@$(NEED_COMPOSE)
	$(COMPOSE) exec postgres sh -c 'exec psql -U "$$POSTGRES_USER" -d "$$POSTGRES_DB" "$$@"' psql $(ARGS)
else
	@$(PY) -m embedded psql $(ARGS)
endif

status: $(STAMP) ## health of each part and the scheduler's last tick; exit 1 if one is down or the tick failed
ifeq ($(STACK),docker)
	@$(NEED_COMPOSE)
	$(COMPOSE) ps
	@$(PY) -m embedded status --aws-only
else
	@$(PY) -m embedded status
endif

aws: $(STAMP) ## any AWS CLI call on this stack's emulator (.env's endpoint): make aws ARGS="sqs list-queues"
	@$(PY) -m embedded aws $(ARGS)

preview: $(STAMP) ## next runs of a schedule: make preview CRON="cron(0 9 ? * MON-FRI *)" TZ=Europe/Berlin N=5
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

# Your shell's environment only, never .env (local values): see README, "Building and deploying".
deploy: $(STAMP) ## deploy infra/template.yaml to AWS (or wherever AWS_ENDPOINT_URL points)
	@$(PY) infra/deploy.py
