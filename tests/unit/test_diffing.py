"""Normalisation: the same spec never looks different, a real change always does."""

from __future__ import annotations

from ic_operator.models import InferenceComponentSpec
from ic_operator.reconcile.diffing import canonical, differences, observed_specification, spec_hash
from tests.unit.planner_fixtures import IMAGE2, describe_of, spec_of, with_image


def test_observed_image_is_the_specified_image():
    spec = spec_of()
    observed = observed_specification(describe_of(spec))
    assert (
        observed["Specification"]["Container"]["Image"]
        == spec.aws_specification()["Specification"]["Container"]["Image"]
    )
    assert "DeployedImage" not in observed["Specification"]["Container"]


def test_same_spec_has_no_differences_despite_defaults_and_floats():
    spec = spec_of()
    assert differences(spec.aws_specification(), observed_specification(describe_of(spec))) == []


def test_image_change_is_reported_by_path_not_value():
    diffs = differences(
        with_image(IMAGE2).aws_specification(), observed_specification(describe_of(spec_of()))
    )
    assert diffs == ["specification.container.image"]


def test_environment_removed_entirely_is_a_difference():
    raw_without_env = spec_of().to_k8s()
    del raw_without_env["specification"]["container"]["environment"]
    desired = InferenceComponentSpec.parse(raw_without_env).aws_specification()
    diffs = differences(desired, observed_specification(describe_of(spec_of())))
    assert diffs == ["specification.container.environment"]


def test_environment_value_change_is_a_difference_without_the_value():
    desired = spec_of().aws_specification()
    desired["Specification"]["Container"]["Environment"] = {"MAX_TOKENS": "s3cr3t"}
    diffs = differences(desired, observed_specification(describe_of(spec_of())))
    assert diffs == ["specification.container.environment"]
    assert "s3cr3t" not in " ".join(diffs)


def test_booleans_do_not_equal_numbers():
    assert differences({"A": True}, {"A": 1}) == ["a"]
    assert differences({"A": 1}, {"A": 1.0}) == []


def test_specifications_match_by_instance_type_and_ignore_unechoed_images():
    desired = {
        "Specifications": [
            {"InstanceType": "ml.g5.2xlarge", "Container": {"Image": "a"}, "ModelName": "m"},
            {"InstanceType": "ml.g6.2xlarge", "Container": {"Image": "a"}, "ModelName": "m"},
        ]
    }
    describe = {
        "Specifications": [
            {"InstanceType": "ml.g6.2xlarge", "Container": {}, "ModelName": "m"},
            {"InstanceType": "ml.g5.2xlarge", "Container": {}, "ModelName": "m"},
        ]
    }
    assert differences(desired, observed_specification(describe)) == []
    describe["Specifications"][0]["ModelName"] = "other"
    assert differences(desired, observed_specification(describe)) == [
        "specifications[ml.g6.2xlarge].modelName"
    ]
    describe["Specifications"].pop()
    assert "specifications" in differences(desired, observed_specification(describe))


def test_spec_hash_is_stable_across_key_order_float_form_and_specifications_order():
    a = {"Specification": {"B": 1.0, "A": {"Y": 2, "X": "x"}}}
    b = {"Specification": {"A": {"X": "x", "Y": 2.0}, "B": 1}}
    assert spec_hash(a) == spec_hash(b)
    s1 = {"Specifications": [{"InstanceType": "b"}, {"InstanceType": "a"}]}
    s2 = {"Specifications": [{"InstanceType": "a"}, {"InstanceType": "b"}]}
    assert spec_hash(s1) == spec_hash(s2)
    assert canonical({"a": None, "b": 2.5}) == {"b": 2.5}
    assert spec_hash(a) != spec_hash({"Specification": {"B": 2}})
