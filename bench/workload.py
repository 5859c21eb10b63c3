"""The components a run manages and the edits it makes: pure, so tests can read them."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

import yaml

from ic_operator import API_GROUP, API_VERSION, KIND

IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.29.0-cpu-full"


def component_name(run: str, index: int) -> str:
    """Unique across runs: all runs share one emulator, where names are global."""
    return f"{run}-{index:05d}"


def endpoint_names(run: str, components: int, per_endpoint: int) -> list[str]:
    count = -(-components // per_endpoint)
    return [f"{run}-ep-{k:03d}" for k in range(count)]


# The autoscaled mode's spec.autoScaling: one to two copies on one target-tracking
# policy, the commonest shape; idle in the bench, so the autoscaler keeps one copy.
AUTOSCALING: dict[str, Any] = {
    "minCopies": 1,
    "maxCopies": 2,
    "policies": [
        {
            "policyName": "invocations",
            "targetTracking": {
                "targetValue": 10,
                "predefinedMetricSpecification": {
                    "predefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"
                },
            },
        }
    ],
}


def manifest(
    name: str, namespace: str, endpoint: str, image: str = IMAGE, *, autoscaled: bool = False
) -> dict[str, Any]:
    """A small CPU component (0.25 core, 128 MiB, one copy) with one user tag; with
    ``autoscaled``, its copy count declared to Application Auto Scaling."""
    doc = _manifest(name, namespace, endpoint, image)
    if autoscaled:
        doc["spec"]["autoScaling"] = AUTOSCALING
    return doc


def _manifest(name: str, namespace: str, endpoint: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{API_GROUP}/{API_VERSION}",
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "endpointName": endpoint,
            "variantName": "AllTraffic",
            "specification": {
                "container": {"image": image},
                "computeResourceRequirements": {
                    "numberOfCpuCoresRequired": 0.25,
                    "minMemoryRequiredInMb": 128,
                },
            },
            "runtimeConfig": {"copyCount": 1},
            "tags": {"team": "bench"},
        },
    }


def manifests(
    run: str, namespace: str, components: int, per_endpoint: int, *, autoscaled: bool = False
) -> list[dict[str, Any]]:
    """Components spread over endpoints, `per_endpoint` to each (the last may hold fewer)."""
    endpoints = endpoint_names(run, components, per_endpoint)
    return [
        manifest(
            component_name(run, i), namespace, endpoints[i // per_endpoint], autoscaled=autoscaled
        )
        for i in range(components)
    ]


def multi_document(docs: Sequence[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False)


def chunks(docs: Sequence[dict[str, Any]], size: int) -> Iterator[Sequence[dict[str, Any]]]:
    if size < 1:
        raise ValueError("chunk size must be positive")
    for start in range(0, len(docs), size):
        yield docs[start : start + size]


def edited_image(index: int, phase: str = "edit") -> str:
    """A distinct image per edit and phase, so each edit's UpdateInferenceComponent is
    identifiable."""
    return f"{IMAGE}-{phase}{index}"


ROLLOUT_BAKE_SECONDS = 600
"""Bake time of a background rollout (emulated s): at scale 0.1 it stays in flight ~67 s."""


def rollout(doc: dict[str, Any], index: int) -> dict[str, Any]:
    """``doc`` with a new image and a slow rolling update: a rollout that stays in flight
    for the whole of an edit phase (one batch, then ROLLOUT_BAKE_SECONDS of bake time)."""
    spec = doc["spec"]
    container = {**spec["specification"]["container"], "image": edited_image(index, "rollout")}
    return {
        **doc,
        "spec": {
            **spec,
            "specification": {**spec["specification"], "container": container},
            "deploymentConfig": {
                "rollingUpdatePolicy": {
                    "maximumBatchSize": {"type": "CAPACITY_PERCENT", "value": 50},
                    "waitIntervalInSeconds": ROLLOUT_BAKE_SECONDS,
                }
            },
        },
    }


def samples(names: Sequence[str], *, edits: int, rollouts: int, seed: int) -> dict[str, list[str]]:
    """Who is edited in each edit phase, and who rolls out in the background.

    The quiet phase's sample is the one earlier results used (same seed, same call);
    the rollout phase edits only components that are not rolling out themselves (an
    edit to a component mid-rollout waits for it by design, which is not what the
    phase measures).
    """
    rng = random.Random(seed)
    quiet = rng.sample(list(names), min(edits, len(names)))
    rolling = rng.sample(list(names), min(rollouts, len(names) // 2))
    busy = set(rolling)
    rest = [n for n in names if n not in busy]
    return {
        "quiet": quiet,
        "rolling": rolling,
        "under_rollouts": rng.sample(rest, min(edits, len(rest))),
        "under_sweep": rng.sample(list(names), min(edits, len(names))),
    }


def image_patch(image: str) -> dict[str, Any]:
    return {"spec": {"specification": {"container": {"image": image}}}}


def is_ready(obj: dict[str, Any]) -> bool:
    """Ready=True for the object's current generation (an older Ready does not count)."""
    status = obj.get("status") or {}
    if status.get("observedGeneration") != (obj.get("metadata") or {}).get("generation"):
        return False
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def update_call_at(
    calls: Sequence[dict[str, Any]], name: str, image: str, not_before: float
) -> float | None:
    """When the first UpdateInferenceComponent carrying ``image`` for ``name`` arrived."""
    for call in calls:
        if call.get("operation") != "UpdateInferenceComponent" or call.get("at", 0) < not_before:
            continue
        request = call.get("request") or {}
        if request.get("InferenceComponentName") != name:
            continue
        container = (request.get("Specification") or {}).get("Container") or {}
        if container.get("Image") == image:
            return float(call["at"])
    return None


def ready_reason(obj: dict[str, Any]) -> str:
    """`True/InSync`, `False/Updating`, ... for a tally of where components ended up."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return f"{cond.get('status')}/{cond.get('reason')}"
    return "none"
