"""ListInferenceComponents filters, sorting, pagination; AddTags/ListTags/DeleteTags."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.helpers import create_ic, error_of, spec, wait_status
from tests.fixtures.emulator import Admin, ic_endpoint


@pytest.fixture
def world(sm: Any) -> dict[str, float]:
    """Two endpoints; a1..a3 on ep-a and b1 on ep-b, created in that order; a1 scaled later."""
    ic_endpoint(sm, "ep-a", count=2)
    ic_endpoint(sm, "ep-b", count=2)
    marks: dict[str, float] = {}
    for name in ("a1", "a2", "a3", "b1"):
        create_ic(sm, name, endpoint=f"ep-{name[0]}", wait=False)
        marks[name] = time.time()
    for name in ("a1", "a2", "a3", "b1"):
        wait_status(sm, name, "InService")
    marks["settled"] = time.time()
    sm.update_inference_component_runtime_config(
        InferenceComponentName="a1", DesiredRuntimeConfig={"CopyCount": 2}
    )
    wait_status(sm, "a1", "InService")
    return marks


def names(out: dict[str, Any]) -> list[str]:
    return [i["InferenceComponentName"] for i in out["InferenceComponents"]]


def test_default_sort_is_newest_first(sm: Any, world: dict[str, float]) -> None:
    out = sm.list_inference_components()
    assert names(out) == ["b1", "a3", "a2", "a1"]
    item = out["InferenceComponents"][0]
    assert set(item) == {
        "CreationTime",
        "InferenceComponentArn",
        "InferenceComponentName",
        "EndpointArn",
        "EndpointName",
        "VariantName",
        "InferenceComponentStatus",
        "LastModifiedTime",
    }


def test_filters(sm: Any, admin: Admin, world: dict[str, float]) -> None:
    assert names(
        sm.list_inference_components(
            EndpointNameEquals="ep-a", SortBy="Name", SortOrder="Ascending"
        )
    ) == ["a1", "a2", "a3"]
    assert names(sm.list_inference_components(EndpointNameEquals="nope")) == []
    assert names(
        sm.list_inference_components(VariantNameEquals="AllTraffic", NameContains="B")
    ) == ["b1"]
    assert names(sm.list_inference_components(VariantNameEquals="Other")) == []
    assert names(sm.list_inference_components(CreationTimeAfter=world["a2"])) == ["b1", "a3"]
    assert names(sm.list_inference_components(CreationTimeBefore=world["a2"])) == ["a2", "a1"]
    assert names(sm.list_inference_components(LastModifiedTimeAfter=world["settled"])) == ["a1"]
    assert names(sm.list_inference_components(LastModifiedTimeBefore=world["settled"])) == [
        "b1",
        "a3",
        "a2",
    ]
    # A settled status other than InService (a Creating b2 lasts only 0.12 s here).
    admin.set_faults(failing_images=["repo/broken:1"])
    create_ic(sm, "b2", endpoint="ep-b", specification=spec(image="repo/broken:1"), wait=False)
    wait_status(sm, "b2", "Failed")
    assert names(sm.list_inference_components(StatusEquals="Failed")) == ["b2"]
    assert names(
        sm.list_inference_components(StatusEquals="InService", EndpointNameEquals="ep-b")
    ) == ["b1"]


def test_sorting(sm: Any, admin: Admin, world: dict[str, float]) -> None:
    # b2 settles in Failed, so the status sort sees a status other than InService however
    # slow the machine is (a Creating b2 lasted 0.12 s here and was sometimes gone).
    admin.set_faults(failing_images=["repo/broken:1"])
    create_ic(sm, "b2", endpoint="ep-b", specification=spec(image="repo/broken:1"), wait=False)
    wait_status(sm, "b2", "Failed")
    assert names(sm.list_inference_components(SortBy="Name", SortOrder="Descending")) == [
        "b2",
        "b1",
        "a3",
        "a2",
        "a1",
    ]
    assert names(sm.list_inference_components(SortBy="CreationTime", SortOrder="Ascending")) == [
        "a1",
        "a2",
        "a3",
        "b1",
        "b2",
    ]
    by_status = names(sm.list_inference_components(SortBy="Status", SortOrder="Ascending"))
    assert by_status == ["b2", "a1", "a2", "a3", "b1"]  # Failed < InService, then name


@pytest.mark.parametrize("sort_by", ["Name", "CreationTime", "Status"])
def test_pagination(sm: Any, world: dict[str, float], sort_by: str) -> None:
    full = names(sm.list_inference_components(SortBy=sort_by, MaxResults=100))
    pages = sm.get_paginator("list_inference_components").paginate(
        SortBy=sort_by, PaginationConfig={"PageSize": 3}
    )
    collected: list[str] = []
    sizes = []
    for page in pages:
        sizes.append(len(page["InferenceComponents"]))
        collected += names(page)
    assert sizes == [3, 1]
    assert collected == full
    first = sm.list_inference_components(SortBy=sort_by, MaxResults=2)
    with pytest.raises(ClientError) as other_sort:
        sm.list_inference_components(
            SortBy="Name" if sort_by != "Name" else "Status", NextToken=first["NextToken"]
        )
    assert error_of(other_sort)[1] == "Invalid pagination token."
    with pytest.raises(ClientError) as garbage:
        sm.list_inference_components(SortBy=sort_by, NextToken="garbage")
    assert error_of(garbage)[0] == "ValidationException"


def test_tags_on_components_and_endpoints(sm: Any) -> None:
    ic_endpoint(sm, "ep")
    endpoint_arn = sm.describe_endpoint(EndpointName="ep")["EndpointArn"]
    arn = create_ic(sm, "ic", Tags=[{"Key": "a", "Value": "1"}], specification=spec())[
        "InferenceComponentArn"
    ]
    for resource in (arn, endpoint_arn):
        added = sm.add_tags(
            ResourceArn=resource, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "9"}]
        )
        assert added["Tags"] == [{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "9"}]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [
        {"Key": "a", "Value": "9"},
        {"Key": "b", "Value": "2"},
    ]
    sm.delete_tags(ResourceArn=arn, TagKeys=["a", "absent"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    assert sm.list_tags(ResourceArn=endpoint_arn)["Tags"] == [
        {"Key": "b", "Value": "2"},
        {"Key": "a", "Value": "9"},
    ]
    missing = arn + "-gone"
    for call in (
        lambda: sm.list_tags(ResourceArn=missing),
        lambda: sm.add_tags(ResourceArn=missing, Tags=[{"Key": "k", "Value": "v"}]),
        lambda: sm.delete_tags(ResourceArn=missing, TagKeys=["k"]),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc) == (
            "ValidationException",
            f"Could not find resource with ARN {missing}.",
            400,
        )


def test_tag_limit_and_pagination(sm: Any) -> None:
    ic_endpoint(sm, "ep")
    arn = sm.describe_endpoint(EndpointName="ep")["EndpointArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": f"k{i:02d}", "Value": "v"} for i in range(50)])
    with pytest.raises(sm.exceptions.ResourceLimitExceeded):
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "one-more", "Value": "v"}])
    keys = [
        t["Key"]
        for page in sm.get_paginator("list_tags").paginate(
            ResourceArn=arn, PaginationConfig={"PageSize": 50}
        )
        for t in page["Tags"]
    ]
    assert keys == [f"k{i:02d}" for i in range(50)]
    first = sm.list_tags(ResourceArn=arn, MaxResults=50)
    assert "NextToken" not in first
