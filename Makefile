# Every target uses the one environment in .venv, created on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= feeds_config
# What `make run` keeps between restarts (SQLite for email, the fediverse, reach; the
# Last-Modified history), unless SYNDICATE_STATE_DIR says elsewhere. Ignored by git.
STATE  ?= .state

.PHONY: install install-test system-deps run check preview new schema test test-slow mutants lint typecheck golden bench \
        bench-nginx-hit bench-email bench-fediverse bench-reach clean

# System programs the tests and the benchmark use, as command:debian-package. Postfix is
# installed with "No configuration" (no system instance, nothing listening): the email tests
# run instances of their own on loopback (tests/postfix.py), logins checked by Dovecot's auth.
SYSTEM_PROGRAMS := newsboat:newsboat nginx:nginx-light wrk:wrk chromium:chromium chromedriver:chromium-driver npm:npm \
                   valgrind:valgrind pg_ctlcluster:postgresql postfix:postfix dovecot:dovecot-core \
                   systemd-analyze:systemd openssl:openssl curl:curl
# Locales the determinism test renders under (Turkish case mapping, German formats).
TEST_LOCALES := tr_TR de_DE

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Stamp files: reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,dev]'
	touch $@

install: $(VENV)/.installed

# Installs missing system programs with apt-get where it is available (as root); elsewhere
# says what is missing, and the tests that need it skip with that reason.
system-deps:
	@missing=""; for pair in $(SYSTEM_PROGRAMS); do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing:$$missing"; \
	  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections; \
	  apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else echo "not installed:$$missing (needs apt-get as root); tests that need them will skip"; fi
	@missing=""; for loc in $(TEST_LOCALES); do \
	  locale -a 2>/dev/null | grep -qix "$$loc.utf-\?8" || missing="$$missing $$loc"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "generating locales:$$missing"; \
	  [ -f /etc/locale.gen ] || { apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends locales >/dev/null; }; \
	  for loc in $$missing; do \
	    grep -q "^$$loc.UTF-8 UTF-8" /etc/locale.gen || echo "$$loc.UTF-8 UTF-8" >> /etc/locale.gen; done; \
	  locale-gen >/dev/null; \
	else echo "locales not installed:$$missing (needs apt-get as root); tests that need them will skip"; fi

install-test: $(VENV)/.installed-test

# The service as a deployment runs it (tests/deployment.py): Debian's own python3, with the
# package installed as docs/deployment.md installs it. This machine's Python may live where
# the service's user cannot reach (pyenv under /root); Debian's is /usr/bin/python3.
DEPLOY_VENV := .venv-deploy
DEPLOY_PYTHON ?= /usr/bin/python3
$(DEPLOY_VENV)/.installed: pyproject.toml $(shell find syndicate -type f ! -name '*.pyc' 2>/dev/null)
	@if [ -x $(DEPLOY_PYTHON) ] && ! $(DEPLOY_PYTHON) -c "import ensurepip" 2>/dev/null && \
	  command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing: python3-venv"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null; fi
	@if [ -x $(DEPLOY_PYTHON) ]; then \
	  $(DEPLOY_PYTHON) -m venv $(DEPLOY_VENV) && \
	  $(DEPLOY_VENV)/bin/pip install --quiet --disable-pip-version-check . && touch $@; \
	else echo "$(DEPLOY_PYTHON) is missing: the tests of the service as its own user will skip"; fi

# axe-core, the accessibility checker the browser tests inject (from the npm registry, at the
# version package-lock.json pins). Without npm the accessibility tests skip (fail under CI).
AXE := tests/browser_deps/node_modules/axe-core/axe.min.js
$(AXE): tests/browser_deps/package.json tests/browser_deps/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix tests/browser_deps --no-audit --no-fund --silent; \
	else echo "npm is not installed: the accessibility checks will skip"; fi

# Fedify, the JavaScript ActivityPub library Ghost's service is built on, for the fediverse
# interop tests' peer server (tests/fedify_peer, pinned by its package-lock.json).
FEDIFY := tests/fedify_peer/node_modules/@fedify/fedify/package.json
$(FEDIFY): tests/fedify_peer/package.json tests/fedify_peer/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix tests/fedify_peer --no-audit --no-fund --silent; \
	else echo "npm is not installed: the Fedify interop tests will skip"; fi

# Serve the sample on http://127.0.0.1:8080/ (SYNDICATE_* variables change settings).
run: install
	SYNDICATE_STATE_DIR="$${SYNDICATE_STATE_DIR:-$(STATE)}" $(BIN)/syndicate serve --config $(CONFIG)

check: install
	$(BIN)/syndicate check --record $(CONFIG)

# A new item's file, a draft to fill in:
#   make new TYPE=voices TOPIC=harm-reduction TITLE="The title"
# (Passed through the environment, so that a title may hold any quote or character.)
export TYPE TOPIC TITLE
new: install
	@if [ -z "$$TYPE" ] || [ -z "$$TOPIC" ] || [ -z "$$TITLE" ]; then \
	  echo 'usage: make new TYPE=voices TOPIC=harm-reduction TITLE="The title"'; exit 2; fi
	$(BIN)/syndicate new "$$TYPE" --topic "$$TOPIC" --title "$$TITLE" --config $(CONFIG)

# The content files' JSON Schema beside them, for editors' editors (docs/content.md).
schema: install
	$(BIN)/syndicate schema $(CONFIG)/syndicate.schema.json

# The content as it will be, drafts and scheduled items shown and marked, on
# http://127.0.0.1:8081/ (beside `make run`), reloaded on every save.
preview: install
	$(BIN)/syndicate preview --config $(CONFIG)

# Test files run in parallel, four processes (on two cores: many tests wait on servers,
# sleeps and browsers), each file in one process so its shared fixtures start once; the
# 15 slowest tests are listed at the end. PYTEST_WORKERS=0 runs everything in one process.
PYTEST_WORKERS ?= 4
PYTEST_PARALLEL = $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile)

test: install-test system-deps $(AXE) $(FEDIFY) $(DEPLOY_VENV)/.installed
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) --durations=15

# The property tests with many more examples than `make test` runs.
test-slow: install-test
	SYNDICATE_HYPOTHESIS_EXAMPLES=5000 SYNDICATE_MUTATION_EXAMPLES=3000 \
		$(BIN)/python -m pytest tests/test_hostile.py tests/test_mutations.py --hypothesis-show-statistics

lint: install-test
	$(BIN)/ruff check syndicate tests bench
	$(BIN)/ruff format --check syndicate tests bench

typecheck: install-test
	$(BIN)/mypy

# The only way golden files change: review the diff before committing it.
# Deliberate bugs the suite must catch, each in a copy of the tree (tests/mutants.py).
mutants: install-test system-deps
	$(BIN)/python tests/mutants.py

golden: install-test
	$(BIN)/python -m tests.golden

# Every ratio of issue 11 in one table (see bench/run.py): serving against bare aiohttp and
# nginx, the nginx cache against static files, large builds and edits. About five minutes;
# BENCH_LARGE=0 leaves out the 100,000-item catalog.
bench: install system-deps
	$(BIN)/python bench/run.py

# Email updates alone: one item to 10,000 subscribers against a bare aiosmtplib loop, and
# sign-up times (bench/email_updates.py): five turns of each, the median ratio. About a minute.
bench-email: install
	$(BIN)/python bench/email_updates.py

# One new item to 10,000 fediverse followers on 500 servers, against a bare aiohttp loop
# POSTing the same signed bodies (bench/fediverse_delivery.py). About half a minute.
bench-fediverse: install-test
	$(BIN)/python bench/fediverse_delivery.py

# Serving with reach counted against not counted, pollers as a busy feed has them
# (bench/reach_counting.py), fresh pairs of servers taking turns. About four minutes.
bench-reach: install system-deps
	$(BIN)/python bench/reach_counting.py

# Where an nginx cache hit's time goes against a static file: nginx's own instructions per
# request, counted by valgrind (bench/nginx_hit.py). About a minute.
bench-nginx-hit: install system-deps
	$(BIN)/python bench/nginx_hit.py

clean:
	rm -rf $(VENV) $(DEPLOY_VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
