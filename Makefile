# Cube — build, run and test.
#
#   make run      install what is missing, build, start the whole stack on 127.0.0.1
#   make stop     stop it (data under ./var is kept)
#   make test     own stack on other ports under ./var/test, every suite, "N passed, N failed"
#   make check    the unit tests under ASan+UBSan (make test runs them too)
#   make lint     gcc -fanalyzer, cppcheck, clang-format check
#   make fmt      apply clang-format
#
# SAN=1 builds into build-san/ with ASan+UBSan.  WERROR=0 drops -Werror locally.

SHELL    := /bin/bash
CC       ?= gcc
SAN      ?= 0
WERROR   ?= 1
PKGS     := fcgi libpq hiredis json-c libcurl libjwt libcrypt

CSTD     := -std=c17 -D_GNU_SOURCE
WARN     := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wmissing-declarations -Wold-style-definition -Wpointer-arith -Wcast-qual \
            -Wwrite-strings -Wformat=2 -Wformat-truncation=2 -Wformat-overflow=2 -Wundef \
            -Wnull-dereference -Wimplicit-fallthrough -Wvla -Wlogical-op -Wduplicated-cond \
            -Wduplicated-branches -Wjump-misses-init -Wredundant-decls -fno-common
ifeq ($(WERROR),1)
WARN     += -Werror
endif

ifeq ($(SAN),1)
B        := build-san
OPT      := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDOPT    := -fsanitize=address,undefined
else
B        := build
OPT      := -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
LDOPT    := -pie -Wl,-z,relro,-z,now
endif

# The newest migration is compiled in: cube-api refuses to serve an older schema.
SCHEMA_LATEST := $(basename $(notdir $(lastword $(sort $(wildcard sql/[0-9]*.sql)))))
VERSION       := $(shell git describe --always --dirty 2>/dev/null || echo dev)

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS    := $(CSTD) $(WARN) $(OPT) -Ifcgi -MMD -MP \
             -DCUBE_SCHEMA_LATEST='"$(SCHEMA_LATEST)"' -DCUBE_VERSION='"$(VERSION)"'
LDFLAGS   := $(LDOPT)

LIB_SRC   := $(wildcard fcgi/core/*.c fcgi/api/*.c fcgi/res/*.c fcgi/sched/*.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(B)/obj/%.o)
BINS      := $(B)/bin/cube-api $(B)/bin/cube $(patsubst fcgi/bin/%.c,$(B)/bin/%,$(wildcard fcgi/bin/cube-*.c))
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
TOOL_BINS := $(B)/tests/api_runner $(B)/tests/fcgi_trivial $(B)/tests/slurm_cli $(B)/tests/k8s_fake $(B)/tests/k8s_cli

.PHONY: all build run stop test check lint fmt deps frontend clean bench unit tools
all build: $(BINS) frontend

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(B)/libcube.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/bin/%: $(B)/obj/fcgi/bin/%.o $(B)/libcube.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(PKG_LIBS) -o $@

# The binaries embed the newest migration's name: a new migration must rebuild them.
SCHEMA_STAMP := $(B)/schema-$(SCHEMA_LATEST).stamp
$(SCHEMA_STAMP):
	@mkdir -p $(B) && rm -f $(B)/schema-*.stamp && touch $@
$(B)/obj/fcgi/bin/fcgi_main.o $(B)/obj/fcgi/bin/cube.o: $(SCHEMA_STAMP)

$(B)/bin/cube-api: $(B)/obj/fcgi/bin/fcgi_main.o $(B)/libcube.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(PKG_LIBS) -o $@

$(B)/tests/test_%: $(B)/obj/tests/unit/test_%.o $(B)/libcube.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(PKG_LIBS) -lcmocka -o $@

# The executor's tests start real attempts through the shim.
$(B)/tests/test_exec_local: | $(B)/bin/cube-shim

$(B)/tests/api_runner: $(B)/obj/tests/api/runner.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(shell pkg-config --libs libcurl json-c) -o $@

$(B)/tests/fcgi_trivial: $(B)/obj/tests/bench/fcgi_trivial.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(shell pkg-config --libs fcgi) -o $@

# The Slurm executor's scenario tests (tests/engines/test_slurm.sh) drive it through this.
$(B)/tests/slurm_cli: $(B)/obj/tests/engines/slurm_cli.o $(B)/libcube.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(PKG_LIBS) -o $@

# The Kubernetes executor's fixture API server and its driver (tests/engines/test_k8s.sh).
$(B)/tests/k8s_fake: $(B)/obj/tests/engines/k8s_fake.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ -o $@

$(B)/tests/k8s_cli: $(B)/obj/tests/engines/k8s_cli.o $(B)/libcube.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(PKG_LIBS) -o $@

# The web app (frontend/build.sh: npm ci when the lock changed, then tsc + vite build).
FRONTEND_SRC := $(shell find frontend/src frontend/public frontend/tools -type f 2>/dev/null) \
                frontend/index.html frontend/package.json frontend/package-lock.json \
                frontend/vite.config.ts frontend/tsconfig.json frontend/static/index.html
frontend: frontend/dist/index.html
frontend/dist/index.html: $(FRONTEND_SRC) frontend/build.sh
	@bash frontend/build.sh

unit: $(UNIT_BINS)
tools: $(TOOL_BINS)

deps:
	@bash deploy/setup.sh

run: deps
	@$(MAKE) --no-print-directory build
	@bash deploy/stack.sh start

stop:
	@bash deploy/stack.sh stop

# make test builds both flavours: the API suite runs against the sanitizer build of cube-api.
test:
	@bash deploy/setup.sh --test
	@$(MAKE) --no-print-directory build unit tools
	@$(MAKE) --no-print-directory SAN=1 build unit
	@bash tests/run.sh

check: deps
	@$(MAKE) --no-print-directory SAN=1 unit
	@bash tests/run.sh --unit-only --san

# Not part of make test: the API under wrk (ratios to a trivial FastCGI ceiling, about four
# minutes), the scheduler's latencies and throughput (about two minutes) and the web app's
# budget in headless Chromium (about two minutes).
bench: deps
	@$(MAKE) --no-print-directory build tools
	@bash tests/bench/api_bench.sh
	@bash tests/bench/sched_bench.sh
	@bash tests/bench/frontend_bench.sh
	@bash tests/bench/slurm_bench.sh

lint:
	@bash deploy/lint.sh

fmt:
	clang-format -i $$(git ls-files 'fcgi/*.[ch]' 'tests/*.[ch]')

clean:
	rm -rf build build-san frontend/dist

-include $(LIB_OBJ:.o=.d) $(wildcard $(B)/obj/fcgi/bin/*.d) $(wildcard $(B)/obj/tests/*/*.d)
