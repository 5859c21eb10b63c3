"""Observe: what SageMaker says about one component, for the fewest calls.

Listing first. One ListInferenceComponents per endpoint (shared by every component
on it, see :mod:`ic_operator.reconcile.sweep`) answers absence, "nothing moved" and "still
moving", and between full listings a region-wide listing of recent changes answers
settled components' resyncs; DescribeInferenceComponent is made only for what moved
or is about to be written, and ListTags only when ownership or tags are in question. Which answer
suffices is the (pure) :func:`~ic_operator.reconcile.triage.triage`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ic_operator.aws.api import SageMakerApi
from ic_operator.aws.budget import Purpose
from ic_operator.models import InferenceComponentStatus
from ic_operator.reconcile.ownership import desired_tags, tags_digest
from ic_operator.reconcile.sweep import EndpointSweep
from ic_operator.reconcile.triage import Look, triage
from ic_operator.reconcile.types import (
    DEFAULT,
    Desired,
    PollPolicy,
    Strategy,
    Wake,
    recorded_wake,
)


@dataclass(frozen=True)
class Observation:
    look: Look
    component: Mapping[str, Any] | None  # Describe (DESCRIBE), list summary, or None (ABSENT)
    tags: Mapping[str, str] | None = None  # ListTags, when fetched


class Observer:
    def __init__(
        self,
        client: SageMakerApi,
        poll: PollPolicy,
        strategy: Strategy = DEFAULT,
        sweep: EndpointSweep | None = None,
        full_listing: float | None = None,
    ) -> None:
        """``full_listing``: how old a settled component's full endpoint listing may be
        (``--full-listing-interval``; default twice the resync)."""
        self.client = client
        self.poll = poll
        self.full_listing = full_listing if full_listing is not None else 2 * poll.resync
        self.strategy = strategy
        self.sweep = sweep or EndpointSweep(client)

    async def observe(
        self,
        desired: Desired,
        status: InferenceComponentStatus,
        region: str,
        *,
        edited: bool,
        now: float,
    ) -> Observation:
        """``edited``: the spec or retry annotation changed since the last decision, so
        the look precedes a write and goes ahead of routine calls."""
        purpose = _purpose(status, edited)
        known = status.inference_component_arn is not None
        # An edit to a component this resource owns needs the Describe anyway: asking
        # the listing first would only put the edit behind a routine List. So does the
        # look that follows a Ready read from the listing (Verify).
        verify = not edited and recorded_wake(status) is Wake.VERIFY
        # A poll that alone follows a large endpoint reads its own Describe
        # (reconcile/sweep.py: no more calls, far less parsing).
        alone = purpose is Purpose.POLL and not self.sweep.poll_by_listing(
            region=region, endpoint=desired.endpoint, name=desired.name, window=self.poll.maximum
        )
        if self.strategy.listing and not (edited and known) and not verify and not alone:
            endpoint, name = desired.endpoint, desired.name
            max_age = self._max_age(status, edited, now)
            if purpose is Purpose.SWEEP:
                summary = await self.sweep.settled(
                    region=region,
                    endpoint=endpoint,
                    name=name,
                    max_age=max_age,
                    full_age=self.full_listing,
                    purpose=purpose,
                )
            else:
                summary = await self.sweep.summary(
                    region=region, endpoint=endpoint, name=name, max_age=max_age, purpose=purpose
                )
            look = triage(summary, status, desired)
            if look is not Look.DESCRIBE:
                return Observation(look, summary)
        return await self.describe(desired, status, region, purpose=purpose)

    async def describe(
        self,
        desired: Desired,
        status: InferenceComponentStatus,
        region: str,
        *,
        purpose: Purpose,
    ) -> Observation:
        component = await self.client.describe(desired.name, region=region, purpose=purpose)
        tags = None
        if component is not None and component.get("EndpointName") in (
            None,
            desired.endpoint,
        ):
            arn = component["InferenceComponentArn"]
            unknown_owner = status.inference_component_arn != arn
            stale_tags = status.tags_hash != tags_digest(desired_tags(desired))
            if unknown_owner or stale_tags:
                tags = await self.client.list_tags(arn, region=region, purpose=purpose)
        return Observation(Look.DESCRIBE, component, tags)

    def _max_age(self, status: InferenceComponentStatus, edited: bool, now: float) -> float:
        """How old a shared listing may be: a resync interval for a settled component, a
        poll interval otherwise, and never older than this resource's last write."""
        if not edited and recorded_wake(status) in (Wake.RESYNC, Wake.IDLE):
            return self.poll.resync * 0.9
        age = self.poll.minimum
        if status.last_write is not None:
            age = min(age, max(0.0, now - status.last_write.sent_at))
        return age


def _purpose(status: InferenceComponentStatus, edited: bool) -> Purpose:
    """A look after an edit precedes a write; one at a settled component is the drift
    sweep (nobody waits on it, even when the listing says it moved); anything else
    follows a transition or a backoff that is known to be running. The Describe that
    fills in a component already Ready from the listing (Verify) is routine too."""
    if edited:
        return Purpose.FIRST_LOOK
    if recorded_wake(status) in (Wake.RESYNC, Wake.IDLE, Wake.VERIFY):
        return Purpose.SWEEP
    return Purpose.POLL
