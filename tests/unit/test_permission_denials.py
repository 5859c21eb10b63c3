"""The RBAC tests judge an operator log by `permission_denials`: it must see kopf's
refusals and nothing else, or a random port ending in 403 fails a healthy run."""

from __future__ import annotations

from tests.fixtures.operator import permission_denials

HEALTHY = (
    "[2026-12-02 04:45:21,070] kopf._cogs.clients.w [WARNING ] Request attempt #1/9 failed; "
    "will retry: GET https://127.0.0.1:58403/apis/sagemaker.ic-operator.io/v1alpha1/namespaces/"
    "ns/inferencecomponents -> APITooManyRequestsError('storage is (re)initializing', "
    "{'code': 429}, status=429)\n"
    "[2026-12-02 04:45:20,403] kopf.objects         [INFO    ] Handler 'wake' succeeded.\n"
)
REFUSED = (
    "[2026-12-02 04:45:22,000] kopf._core.engines.a [ERROR   ] Request attempt failed: PATCH "
    "https://127.0.0.1:6443/apis/x -> APIForbiddenError('inferencecomponents is forbidden: "
    "User cannot patch', {'code': 403}, status=403)"
)


def test_a_healthy_log_has_no_denials() -> None:
    assert permission_denials(HEALTHY) == []


def test_a_refused_request_is_found() -> None:
    assert permission_denials(HEALTHY + REFUSED + "\n") == [REFUSED]


def test_the_status_code_alone_is_found() -> None:
    line = "kopf [WARNING ] GET /apis/x -> APIClientError('nope', {}, status=403)"
    assert permission_denials(line) == [line]


def test_missing_permissions_are_found() -> None:
    line = "kopf.clusterwide [WARNING ] Not enough permissions to watch for resources: x"
    assert permission_denials(line) == [line]
