# sagemaker-ic-operator container image.
#
#   docker build -t sagemaker-ic-operator:0.1.0 .
#
# Stage 1 builds the project wheel and wheels for its pinned dependencies;
# stage 2 installs them offline into a slim Python and runs as uid 65532 with
# nothing to write but /tmp, so it works with readOnlyRootFilesystem.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY operator ./operator
# The project wheel, then every runtime dependency as a wheel at the exact
# version constraints.txt pins (the runtime stage installs with --no-index).
RUN pip wheel --no-deps --wheel-dir /wheels . \
 && pip wheel --wheel-dir /wheels -c constraints.txt /wheels/sagemaker_ic_operator-*.whl

FROM ${PYTHON_IMAGE} AS runtime
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY --from=builder /wheels /wheels
COPY constraints.txt /wheels/constraints.txt
# pip byte-compiles at install time, so nothing needs writing at run time.
RUN pip install --no-index --find-links=/wheels -c /wheels/constraints.txt sagemaker-ic-operator \
 && rm -rf /wheels \
 && groupadd --gid 65532 operator \
 && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin operator

# HOME and the working directory are /tmp: the chart mounts an emptyDir there,
# the only writable path under readOnlyRootFilesystem.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
WORKDIR /tmp
# Numeric so that Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 65532:65532
# 8081: /healthz (liveness, readiness); 9090: Prometheus /metrics.
EXPOSE 8081 9090
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8081/healthz', timeout=4)"]
ENTRYPOINT ["ic-operator", "run"]
