"""SageMaker's AddTags, ListTags and DeleteTags, on any ARN the hosting and component APIs made.

Create requests' `Tags` are stored on the record (Describe never shows them, doc [CFN]);
ListTags on a component serves the lagging version while the read-lag fault is on.
"""

from __future__ import annotations

from typing import Any

from .components import InferenceComponents
from .errors import ApiError, validation
from .protocols import Handler, offset_page
from .records import Json, request_tags
from .state import EmulatorState


class SageMakerTags:
    def __init__(self, world: EmulatorState, components: InferenceComponents) -> None:
        self.world = world
        self.components = components
        self.handlers: dict[str, Handler] = {
            "AddTags": self.add_tags,
            "ListTags": self.list_tags,
            "DeleteTags": self.delete_tags,
        }

    def _tagged(self, arn: str) -> Any:
        rec = self.world.by_arn.get(arn)
        if rec is None:
            raise validation(f"Could not find resource with ARN {arn}.")
        return rec

    def add_tags(self, req: Json) -> Json:
        rec = self._tagged(req["ResourceArn"])
        merged = dict(rec.tags)
        merged.update(request_tags(req))
        if len(merged) > 50:
            raise ApiError(
                "ResourceLimitExceeded", f"Resource {rec.arn} cannot have more than 50 tags."
            )
        rec.tags = merged
        return {"Tags": list(req["Tags"])}

    def list_tags(self, req: Json) -> Json:
        arn = req["ResourceArn"]
        name = self.components.component_named(req)
        version = self.world.stale("ListTags", name) if name is not None else None
        if version is not None:
            if version.before is None:
                raise validation(f"Could not find resource with ARN {arn}.")
            current = version.before.tags
        else:
            current = self._tagged(arn).tags
        tags = [{"Key": k, "Value": v} for k, v in current.items()]
        invalid = validation("Invalid pagination token.")
        page, token = offset_page(
            tags, req.get("NextToken"), int(req.get("MaxResults", 50)), invalid
        )
        out: Json = {"Tags": page}
        if token is not None:
            out["NextToken"] = token
        return out

    def delete_tags(self, req: Json) -> Json:
        rec = self._tagged(req["ResourceArn"])
        for key in req["TagKeys"]:
            rec.tags.pop(key, None)
        return {}
