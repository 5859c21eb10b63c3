# syntax=docker/dockerfile:1
# sagemaker-ic-operator container image.
#
#   docker build -t sagemaker-ic-operator:0.1.0 .
#   make image        # the same Dockerfile with podman, on a Debian-built base (docs/install.md)
#
# Stage 1 builds the product wheel and wheels for its pinned dependencies. Stage 2
# installs them offline from a bind mount of stage 1 (so no layer keeps the wheels),
# drops pip and setuptools, and runs as uid 65532 with nothing to write but /tmp,
# so it works with readOnlyRootFilesystem.
#
# PYTHON_IMAGE is any Debian-based CPython 3.11 with `python` and `pip` on PATH:
# python:3.11-slim, or the base `make image` builds from Debian bookworm packages
# (a venv at /opt/python on PATH, because Debian's own python is externally managed).

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
# Lets `make image` remove this stage's leftover image after a build (podman keeps it).
LABEL io.sagemaker-ic-operator.stage=builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY operator ./operator
# The product wheel, then every runtime dependency as a wheel at the exact version
# constraints.txt pins (the runtime stage installs with --no-index).
RUN pip wheel --no-deps --wheel-dir /wheels . \
 && pip wheel --wheel-dir /wheels -c constraints.txt /wheels/sagemaker_ic_operator-*.whl \
 && cp constraints.txt /wheels/constraints.txt

FROM ${PYTHON_IMAGE} AS runtime
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# Only the product distribution, from the builder's wheels through a bind mount (no
# layer holds them). pip byte-compiles at install time, so nothing is written at run
# time; then pip and setuptools go: the operator never installs anything. The user is
# created by id under a name no base image uses (Debian's base-passwd already has
# `operator`, distroless has `nonroot` at 65532), appended only if the id is free.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels -c /wheels/constraints.txt sagemaker-ic-operator \
 && python -m pip uninstall --yes --quiet pip setuptools wheel \
 && site="$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
 && find "$site" -depth -type d -name tests -exec rm -rf {} + \
 && (grep -q '^[^:]*:[^:]*:65532:' /etc/group \
      || echo 'sagemaker-ic-operator:x:65532:' >> /etc/group) \
 && (grep -q '^[^:]*:[^:]*:65532:' /etc/passwd \
      || echo 'sagemaker-ic-operator:x:65532:65532::/tmp:/usr/sbin/nologin' >> /etc/passwd)

# HOME and the working directory are /tmp: the chart mounts an emptyDir there,
# the only writable path under readOnlyRootFilesystem.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
WORKDIR /tmp
# Numeric so that Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 65532:65532
# 8081: /healthz (liveness, readiness); 9090: Prometheus /metrics. Both are flags
# (--health-port, --metrics-port). No HEALTHCHECK: Kubernetes ignores it and runs the
# chart's probes on the configured port; a fixed port here would be wrong whenever
# --health-port changes it.
EXPOSE 8081 9090
# The image runs `ic-operator`; the arguments choose the subcommand. `run` by default,
# and the chart's Deployment passes `args: [run, --flag...]` (Kubernetes' args replace
# CMD and are appended to ENTRYPOINT), so the two agree: `ic-operator run --flag...`.
ENTRYPOINT ["ic-operator"]
CMD ["run"]
