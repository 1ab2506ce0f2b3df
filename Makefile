# edgeadm developer entry points. CI (.ci/run) calls `make test`, exactly as the README says.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
CLUSTER_DIR ?= .cluster
CLUSTER_FLAVOR ?= kubeadm
export CLUSTER_DIR CLUSTER_FLAVOR

.PHONY: deps venv binaries install cluster-up cluster-down demo check lint type test unit bench dist release clean

# Debian packages the tests and the local cluster need (etcd, containerd, runc, CNI plugins, nspawn hosts, sshd).
deps:
	@missing=""; for p in etcd-server etcd-client containerd runc containernetworking-plugins debootstrap \
	  systemd-container openssh-server pssh busybox-static iproute2 libc6-dev; do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing" >&2; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

$(BIN)/edgeadm: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

venv: $(BIN)/edgeadm

# Pinned Kubernetes binaries, built from the Go module proxy into ~/.cache/edgeadm (reused when present).
binaries:
	@hack/build-k8s.sh >/dev/null

install: deps venv binaries

cluster-up: install
	@$(BIN)/python -m tests.harness.cluster up --dir $(CLUSTER_DIR) --flavor $(CLUSTER_FLAVOR)

cluster-down: venv
	@$(BIN)/python -m tests.harness.cluster down --dir $(CLUSTER_DIR)

# The main job on the built-in local cluster: the release flow, left running (hack/demo.py).
demo: deps venv
	@hack/demo.sh

# Static checks: ruff, mypy --strict on edgeadm/, and the import contracts in pyproject.toml.
lint: venv
	$(BIN)/ruff check edgeadm tests bench hack
	$(BIN)/lint-imports

type: venv
	$(BIN)/mypy

check: lint type

# The whole test suite: static checks, unit tests and the real-cluster and real-node tests. Under CI the pinned
# binaries are not built first: the tests' prebuilder (tests/harness/prebuild.py) builds them beside the unit tests.
test: deps venv check
	@[ -n "$$CI" ] || hack/build-k8s.sh >/dev/null
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

unit: venv
	$(BIN)/python -m pytest -q -m 'not cluster and not node' $(PYTEST_ARGS)

# Bytecode caching stays on: an installed edgeadm runs from compiled modules (pip compiles them at install).
bench: install
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m bench $(BENCH_ARGS)

dist: venv
	$(BIN)/pip install -q build
	$(BIN)/python -m build --wheel --outdir dist .

# The release archive dist/edgeadm-linux-<arch>-<version>.tgz: the self-contained executable (no Python needed on
# the target) and the static install package with the edge images. ARCH defaults to this machine's.
release: install
	@hack/build-release.sh $(ARCH)

clean:
	rm -rf dist build .pytest_cache
