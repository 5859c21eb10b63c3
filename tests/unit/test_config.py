"""Operator settings: flags win over environment, bad values fail at start-up."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from ic_operator import config
from ic_operator.aws.client import SageMakerClient


def parse(argv: list[str]) -> config.Settings:
    parser = argparse.ArgumentParser()
    config.add_arguments(parser)
    return config.from_args(parser.parse_args(argv))


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("IC_OPERATOR_NAMESPACES", "AWS_REGION", "AWS_DEFAULT_REGION",
                 "IC_OPERATOR_RESYNC_INTERVAL", "IC_OPERATOR_CONFIRM_WINDOW"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    s = parse([])
    assert (s.namespaces, s.region, s.resync_interval, s.confirm_window) == (
        (),
        "us-east-1",
        300,
        60,
    )
    assert (s.max_calls_per_second, s.metrics_port, s.health_port) == (20, 9090, 8081)


def test_environment_then_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IC_OPERATOR_NAMESPACES", "team-a, team-b")
    monkeypatch.setenv("IC_OPERATOR_RESYNC_INTERVAL", "60")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    s = parse([])
    assert (s.namespaces, s.resync_interval, s.region) == (("team-a", "team-b"), 60, "eu-west-1")
    s = parse(["--namespace", "x", "--resync-interval", "5", "--region", "us-west-2",
               "--confirm-window", "7", "--max-calls-per-second", "0"])  # fmt: skip
    assert (s.namespaces, s.resync_interval, s.region) == (("x",), 5, "us-west-2")
    assert (s.confirm_window, s.max_calls_per_second) == (7, 0)


def test_the_full_listing_interval_defaults_to_twice_the_resync(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert parse([]).full_listing_interval == 600
    assert parse(["--resync-interval", "20"]).full_listing_interval == 40
    monkeypatch.setenv("IC_OPERATOR_FULL_LISTING_INTERVAL", "900")
    assert parse(["--resync-interval", "20"]).full_listing_interval == 900
    assert parse(["--full-listing-interval", "300"]).full_listing_interval == 300


@pytest.mark.parametrize(
    "argv",
    [
        ["--resync-interval", "0"],
        ["--poll-min", "10", "--poll-max", "5"],
        ["--max-concurrency", "0"],
        ["--resync-interval", "300", "--full-listing-interval", "299"],
    ],
)
def test_bad_values_fail_at_start(argv: list[str]) -> None:
    with pytest.raises(ValueError):
        parse(argv)


def test_endpoint_policy(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text("team-a: ['team-a-*', shared-gpu]\n'*': [sandbox-*]\n")
    policy = config.EndpointPolicy.load(str(policy_file))
    assert policy.permits("team-a", "team-a-llm") and policy.permits("team-a", "shared-gpu")
    assert not policy.permits("team-a", "team-b-llm")
    assert policy.permits("team-c", "sandbox-1") and not policy.permits("team-c", "team-a-llm")
    assert config.EndpointPolicy().permits("anyone", "anything")
    policy_file.write_text("team-a: not-a-list\n")
    with pytest.raises(ValueError, match="namespace -> list"):
        config.EndpointPolicy.load(str(policy_file))


def test_the_operator_client_enforces_the_configured_limits() -> None:
    settings = parse(["--max-concurrency", "3", "--max-calls-per-second", "7.5"])
    budget = SageMakerClient.from_settings(settings).budget
    assert (budget.concurrency, budget.rate) == (3, 7.5)
