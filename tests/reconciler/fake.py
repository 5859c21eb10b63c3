"""An in-memory SageMaker and Kubernetes for the reconciler suite (never in the product).

`FakeSageMaker` satisfies :class:`ic_operator.aws.api.SageMakerApi`: it keeps components
the way DescribeInferenceComponent reports them, moves them through SageMaker's
lifecycle only when a test says so (``settle``), logs every call, and injects the
faults issue 12 is about: reads that lag a write, and writes applied whose answer is
lost. `FakeKube` satisfies :class:`ic_operator.loop.object_loop.Kube` with one stored object.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ic_operator.aws import operations
from ic_operator.aws.budget import Purpose
from ic_operator.aws.errors import ErrorKind, SageMakerError
from ic_operator.aws.operations import SAGEMAKER_RULES
from ic_operator.loop import preemption
from ic_operator.reconcile.status import merge_patch
from ic_sandbox.emulator.describe import described_specification
from tests.reconciler.fake_autoscaling import FakeAutoScaling

WRITES = {
    service: rules.writes
    for service, rules in {**operations.AUTOSCALING_RULES, "sagemaker": SAGEMAKER_RULES}.items()
}
ACCOUNT = "123456789012"
REGION = "us-east-1"


class Clock:
    """Epoch seconds that move only when a test moves them."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Call:
    operation: str
    request: dict[str, Any]
    purpose: Purpose | None
    error: str | None = None
    service: str = "sagemaker"


def _apply_patch(doc: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in patch.items():
        if value is None:
            doc.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(doc.get(key), dict):
            _apply_patch(doc[key], value)
        else:
            doc[key] = copy.deepcopy(value)
    return doc


@dataclass
class FakeSageMaker:
    clock: Clock
    endpoints: set[str] = field(default_factory=lambda: {"llm-endpoint"})
    # endpoint -> EndpointStatus other than InService (with "FailureReason" if any)
    endpoint_states: dict[str, dict[str, Any]] = field(default_factory=dict)
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    # name -> (document before the last write, reads left that return it)
    lagging: dict[str, tuple[dict[str, Any] | None, int]] = field(default_factory=dict)
    lag_reads: int = 0  # reads after each write that still return the old document
    lose_answer: set[str] = field(default_factory=set)  # writes applied, answer lost (once)
    fail: dict[str, SageMakerError] = field(default_factory=dict)  # next call fails (once)
    rollback_next: str | None = None  # the next update rolls back with this FailureReason
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> target document
    autoscaling: FakeAutoScaling | None = None  # the other two services (same call log)
    # operation -> gate: calls of it wait until the test sets the event (a slow budget)
    hold: dict[str, asyncio.Event] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.autoscaling is None:
            self.autoscaling = FakeAutoScaling(self.clock)

    # ----------------------------------------------------------------- the API

    async def _held(self, operation: str) -> None:
        gate = self.hold.get(operation)
        if gate is not None:
            await gate.wait()

    async def call(
        self,
        operation: str,
        request: Mapping[str, Any],
        *,
        region: str | None = None,
        purpose: Purpose | None = None,
        service: str = "sagemaker",
    ) -> dict[str, Any]:
        if operation in WRITES.get(service, frozenset()):
            preemption.commit()  # as the real door does
        record = Call(operation, copy.deepcopy(dict(request)), purpose, service=service)
        self.calls.append(record)
        await self._held(operation)
        if operation in self.fail:
            err = self.fail.pop(operation)
            record.error = err.code
            raise err
        if service != "sagemaker":
            assert self.autoscaling is not None
            try:
                return self.autoscaling.handle(operation, dict(request))
            except SageMakerError as err:
                record.error = err.code
                raise
        handler = getattr(self, "_" + operation)
        before = {n: copy.deepcopy(c) for n, c in self.components.items()}
        try:
            response: dict[str, Any] = handler(dict(request))
        except SageMakerError as err:
            record.error = err.code
            raise
        if operation in self.lose_answer:
            self.lose_answer.discard(operation)
            self._lag(request, before)
            record.error = "InternalFailure"
            raise SageMakerError(operation, ErrorKind.OUTCOME_UNKNOWN, "InternalFailure", "lost")
        self._lag(request, before)
        return response

    async def describe(
        self, name: str, *, region: str | None = None, purpose: Purpose | None = None
    ) -> dict[str, Any] | None:
        self.calls.append(
            Call("DescribeInferenceComponent", {"InferenceComponentName": name}, purpose)
        )
        await self._held("DescribeInferenceComponent")
        return copy.deepcopy(self._read(name))

    async def describe_endpoint(
        self, name: str, *, region: str | None = None, purpose: Purpose | None = None
    ) -> dict[str, Any] | None:
        self.calls.append(Call("DescribeEndpoint", {"EndpointName": name}, purpose))
        await self._held("DescribeEndpoint")
        if name not in self.endpoints:
            return None
        state = {"EndpointStatus": "InService", "LastModifiedTime": self.clock.now - 600}
        return {
            "EndpointName": name,
            "CreationTime": self.clock.now - 3600,
            **state,
            **self.endpoint_states.get(name, {}),
        }

    def set_endpoint(self, name: str, status: str | None, **extra: Any) -> None:
        """The endpoint enters ``status`` now (None: it is deleted)."""
        if status is None:
            self.endpoints.discard(name)
            self.endpoint_states.pop(name, None)
            return
        self.endpoints.add(name)
        self.endpoint_states[name] = {
            "EndpointStatus": status,
            "LastModifiedTime": self.clock.now,
            **extra,
        }

    async def list_tags(
        self, arn: str, *, region: str | None = None, purpose: Purpose | None = None
    ) -> dict[str, str]:
        self.calls.append(Call("ListTags", {"ResourceArn": arn}, purpose))
        return dict(self.tags.get(arn, {}))

    async def list_components(
        self,
        *,
        endpoint_name: str | None,
        region: str | None = None,
        purpose: Purpose = Purpose.SWEEP,
        fields: frozenset[str] | None = None,
        modified_after: float | None = None,
    ) -> list[dict[str, Any]]:
        request: dict[str, Any] = {}
        if endpoint_name is not None:
            request["EndpointNameEquals"] = endpoint_name
        if modified_after is not None:
            request["LastModifiedTimeAfter"] = modified_after
        self.calls.append(Call("ListInferenceComponents", request, purpose))
        await self._held("ListInferenceComponents")
        out = []
        for name in sorted(set(self.components) | set(self.lagging)):
            doc = self._read(name)
            if doc is None or endpoint_name not in (None, doc["EndpointName"]):
                continue
            if modified_after is None or doc["LastModifiedTime"] > modified_after:
                out.append({k: doc[k] for k in (
                    "InferenceComponentName", "InferenceComponentArn", "EndpointName",
                    "InferenceComponentStatus", "LastModifiedTime", "CreationTime",
                )})  # fmt: skip
        return out

    # ----------------------------------------------------------------- what tests see

    def ops(self, *names: str) -> list[str]:
        """Operations called, in order (only these operations, if given)."""
        return [c.operation for c in self.calls if not names or c.operation in names]

    def writes(self) -> list[Call]:
        reads = {"DescribeInferenceComponent", "ListTags", "ListInferenceComponents"}
        return [c for c in self.calls if c.operation not in reads and "Describe" not in c.operation]

    def accepted(self, operation: str) -> list[Call]:
        """Calls SageMaker applied (a lost answer was still applied)."""
        return [
            c
            for c in self.calls
            if c.operation == operation and c.error in (None, "InternalFailure")
        ]

    def settle(self, name: str) -> None:
        """SageMaker finishes the transition it is in (a rollout, a create, a delete)."""
        self.clock.advance(1)
        target = self.pending.pop(name, None)
        if target is None and name in self.components:
            target = self.components[name]
        if target is None:
            return
        if target.get("_delete"):
            self.components.pop(name, None)
            return
        target["InferenceComponentStatus"] = "InService"
        target["LastModifiedTime"] = self.clock.now
        count = target["RuntimeConfig"]["DesiredCopyCount"]
        target["RuntimeConfig"]["CurrentCopyCount"] = count
        self.components[name] = target

    def batch(self, name: str) -> None:
        """One rolling batch lands: LastModifiedTime moves, still Updating."""
        self.clock.advance(1)
        self.components[name]["LastModifiedTime"] = self.clock.now

    def put(
        self,
        name: str,
        specification: Mapping[str, Any],
        *,
        copies: int = 4,
        owner_tags: Mapping[str, str] | None = None,
        endpoint: str = "llm-endpoint",
    ) -> str:
        """A component made outside the operator (by another tool, or before a crash)."""
        arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:inference-component/{name}"
        self.components[name] = self._document(name, arn, endpoint, specification, copies)
        self.components[name]["InferenceComponentStatus"] = "InService"
        self.tags[arn] = dict(owner_tags or {})
        return arn

    def change(self, name: str, **specification: Any) -> None:
        """An out-of-band edit (console, CLI): the specification moves, and LastModifiedTime."""
        self.clock.advance(1)
        doc = self.components[name]
        doc["Specification"] = described_specification(
            {**_request_of(doc["Specification"]), **specification}, self.clock.now
        )
        doc["LastModifiedTime"] = self.clock.now

    # ----------------------------------------------------------------- the operations

    def _document(
        self, name: str, arn: str, endpoint: str, specification: Mapping[str, Any], copies: int
    ) -> dict[str, Any]:
        return {
            "InferenceComponentName": name,
            "InferenceComponentArn": arn,
            "EndpointName": endpoint,
            "EndpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{endpoint}",
            "VariantName": "AllTraffic",
            "InferenceComponentStatus": "Creating",
            "CreationTime": self.clock.now,
            "LastModifiedTime": self.clock.now,
            "Specification": described_specification(dict(specification), self.clock.now),
            "RuntimeConfig": {"DesiredCopyCount": copies, "CurrentCopyCount": 0},
        }

    def _CreateInferenceComponent(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["InferenceComponentName"]
        if request["EndpointName"] not in self.endpoints:
            raise _validation(
                "CreateInferenceComponent",
                f'Could not find endpoint "{request["EndpointName"]}".',
                ErrorKind.NOT_FOUND,
            )
        if name in self.components:
            raise SageMakerError(
                "CreateInferenceComponent",
                ErrorKind.ALREADY_EXISTS,
                "ResourceInUse",
                "already exists",
            )
        arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:inference-component/{name}"
        copies = request.get("RuntimeConfig", {}).get("CopyCount", 1)
        self.components[name] = self._document(
            name, arn, request["EndpointName"], request["Specification"], copies
        )
        self.tags[arn] = {t["Key"]: t["Value"] for t in request.get("Tags", [])}
        return {"InferenceComponentArn": arn}

    def _UpdateInferenceComponent(self, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._settled("UpdateInferenceComponent", request["InferenceComponentName"])
        target = copy.deepcopy(doc)
        if self.rollback_next is not None:
            target["FailureReason"] = self.rollback_next
            self.rollback_next = None
        else:
            target["Specification"] = described_specification(
                request["Specification"], self.clock.now
            )
            if "RuntimeConfig" in request:
                target["RuntimeConfig"]["DesiredCopyCount"] = request["RuntimeConfig"]["CopyCount"]
            if "DeploymentConfig" in request:
                target["LastDeploymentConfig"] = request["DeploymentConfig"]
        return self._start(doc, target)

    def _UpdateInferenceComponentRuntimeConfig(self, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._settled(
            "UpdateInferenceComponentRuntimeConfig", request["InferenceComponentName"]
        )
        target = copy.deepcopy(doc)
        target["RuntimeConfig"]["DesiredCopyCount"] = request["DesiredRuntimeConfig"]["CopyCount"]
        doc["RuntimeConfig"]["DesiredCopyCount"] = request["DesiredRuntimeConfig"]["CopyCount"]
        return self._start(doc, target)

    def _DeleteInferenceComponent(self, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._settled(
            "DeleteInferenceComponent", request["InferenceComponentName"], deleting=True
        )
        return self._start(doc, {"_delete": True}, state="Deleting")

    def _AddTags(self, request: dict[str, Any]) -> dict[str, Any]:
        self.tags.setdefault(request["ResourceArn"], {}).update(
            {t["Key"]: t["Value"] for t in request["Tags"]}
        )
        return {}

    def _DeleteTags(self, request: dict[str, Any]) -> dict[str, Any]:
        for key in request["TagKeys"]:
            self.tags.get(request["ResourceArn"], {}).pop(key, None)
        return {}

    def _settled(self, operation: str, name: str, *, deleting: bool = False) -> dict[str, Any]:
        doc = self.components.get(name)
        if doc is None:
            raise _validation(
                operation, f'Could not find inference component "{name}".', ErrorKind.NOT_FOUND
            )
        state = doc["InferenceComponentStatus"]
        if state in ("Creating", "Updating", "Deleting") or (state == "Failed" and not deleting):
            raise _validation(
                operation,
                f"Cannot update inference component {name} while it is in state {state.upper()}",
                ErrorKind.BUSY,
            )
        return doc

    def _start(
        self, doc: dict[str, Any], target: dict[str, Any], state: str = "Updating"
    ) -> dict[str, Any]:
        self.clock.advance(0.5)
        doc["InferenceComponentStatus"] = state
        doc["LastModifiedTime"] = self.clock.now
        self.pending[doc["InferenceComponentName"]] = target
        return {"InferenceComponentArn": doc["InferenceComponentArn"]}

    # ----------------------------------------------------------------- read lag

    def _lag(self, request: Mapping[str, Any], before: dict[str, dict[str, Any]]) -> None:
        if self.lag_reads:
            name = str(request.get("InferenceComponentName", ""))
            if name:
                self.lagging[name] = (before.get(name), self.lag_reads)

    def _read(self, name: str, *, count: bool = True) -> dict[str, Any] | None:
        if name in self.lagging:
            old, left = self.lagging[name]
            if count:
                if left <= 1:
                    del self.lagging[name]
                else:
                    self.lagging[name] = (old, left - 1)
            return copy.deepcopy(old)
        return self.components.get(name)


def _request_of(summary: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(summary))
    container = out.get("Container") or {}
    deployed = container.pop("DeployedImage", None)
    if deployed:
        container["Image"] = deployed["SpecifiedImage"]
    return out


def _validation(operation: str, message: str, kind: ErrorKind) -> SageMakerError:
    return SageMakerError(operation, kind, "ValidationException", message)


class FakeKube:
    """One stored InferenceComponent object; status patches apply as the API server does."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.events: list[tuple[str, str, str]] = []
        self.status_writes = 0

    async def patch_status(
        self, body: Mapping[str, Any], patch: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        self.status_writes += 1
        self.body["status"] = _apply_patch(dict(self.body.get("status") or {}), patch)
        self._bump()
        return copy.deepcopy(self.body)

    async def read(self, body: Mapping[str, Any]) -> Mapping[str, Any] | None:
        return copy.deepcopy(self.body)

    def post_event(self, body: Mapping[str, Any], type: str, reason: str, message: str) -> None:
        self.events.append((type, reason, message))

    def edit(
        self,
        spec_patch: Mapping[str, Any] | None = None,
        *,
        annotations: Mapping[str, str] | None = None,
    ) -> None:
        """A user's edit: the spec (merge patch) and/or annotations."""
        meta = self.body["metadata"]
        if spec_patch:
            _apply_patch(self.body["spec"], spec_patch)
            meta["generation"] += 1
        if annotations:
            meta.setdefault("annotations", {}).update(annotations)
        self._bump()

    def _bump(self) -> None:
        meta = self.body["metadata"]
        meta["resourceVersion"] = str(int(meta.get("resourceVersion", "1")) + 1)

    def reasons(self) -> list[str]:
        return [reason for _, reason, _ in self.events]

    def condition(self, ctype: str) -> tuple[str, str]:
        for c in (self.body.get("status") or {}).get("conditions", []):
            if c["type"] == ctype:
                return c["status"], c["reason"]
        return ("", "")


__all__ = ["Call", "Clock", "FakeKube", "FakeSageMaker", "merge_patch"]
