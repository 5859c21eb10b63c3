"""Operator settings from flags and environment (flags win).

Kept free of kopf so that the CLI can validate configuration before anything
connects anywhere.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml


@dataclass(frozen=True)
class EndpointPolicy:
    """Which endpoints each namespace may target (namespace -> glob patterns).

    Absent policy: everything is allowed. With a policy, a namespace that is not
    listed may target nothing; ``"*"`` as a namespace key is the default entry.
    """

    rules: Mapping[str, tuple[str, ...]] | None = None

    def permits(self, namespace: str, endpoint: str) -> bool:
        if self.rules is None:
            return True
        patterns = self.rules.get(namespace, self.rules.get("*", ()))
        return any(fnmatch.fnmatchcase(endpoint, p) for p in patterns)

    @classmethod
    def load(cls, path: str | None) -> EndpointPolicy:
        if not path:
            return cls()
        data = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(data, dict) or not all(
            isinstance(v, list) and all(isinstance(p, str) for p in v) for v in data.values()
        ):
            raise ValueError(f"{path}: expected a map of namespace -> list of endpoint globs")
        return cls({str(k): tuple(v) for k, v in data.items()})


@dataclass(frozen=True)
class Settings:
    namespaces: tuple[str, ...] = ()
    region: str = "us-east-1"
    resync_interval: float = 300.0
    log_format: str = "text"
    max_concurrency: int = 10
    metrics_port: int = 9090
    health_port: int = 8081
    peering: str | None = None
    endpoint_policy: EndpointPolicy = field(default_factory=EndpointPolicy)
    # Bounds of the poll interval while SageMaker is transitioning: the delay grows
    # with the time the transition has taken so far, between these two values.
    poll_min: float = 5.0
    poll_max: float = 60.0
    # How long a reading from before the last write is waited out (SageMaker's reads
    # may lag its writes) before it is judged, or a write whose answer was lost resent.
    confirm_window: float = 60.0
    max_calls_per_second: float = 20.0
    # How old the shared autoscaling listings (every component's target, policies,
    # scheduled actions and alarm, read in pages) may be: a hand edit is found within
    # it. An edit, a move of the copy count and a running scaling activity are read at
    # once. Default: the full listing interval.
    autoscaling_resync_interval: float = 600.0
    # How often each endpoint is listed in full: what finds a component deleted behind
    # the operator's back. Between full listings one region-wide listing of what changed
    # recently answers every settled component's resync. Default: twice the resync.
    full_listing_interval: float = 600.0
    # spec.endpointRef may name an ACK Endpoint in another namespace than the component's.
    # Off by default: a reference must not let one namespace read or use another's.
    cross_namespace_endpoint_refs: bool = False
    # A namespace no AccountMapping selects: "OperatorIdentity" (the operator's own
    # identity and --region, the single-account install) or "Refuse" (Degraded/NoAccount,
    # no AWS call). docs/accounts.md.
    unmapped_namespaces: str = "OperatorIdentity"
    # Named in the session name and tags of every role the operator assumes (CloudTrail).
    cluster_name: str = "kubernetes"


UNMAPPED_CHOICES = ("OperatorIdentity", "Refuse")


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--namespace",
        action="append",
        default=None,
        metavar="NS",
        help="watch this namespace (repeatable); default: all namespaces "
        "[IC_OPERATOR_NAMESPACES, comma-separated]",
    )
    parser.add_argument("--region", help="default AWS region [AWS_REGION]")
    parser.add_argument(
        "--unmapped-namespaces",
        choices=UNMAPPED_CHOICES,
        help="what a namespace no AccountMapping selects gets: the operator's own identity "
        "(default) or Refuse (Degraded/NoAccount, no AWS call) [IC_OPERATOR_UNMAPPED_NAMESPACES]",
    )
    parser.add_argument(
        "--cluster-name",
        help="this cluster's name in the session name and tags of the roles AccountMappings "
        "name (default kubernetes) [IC_OPERATOR_CLUSTER_NAME]",
    )
    parser.add_argument(
        "--resync-interval",
        type=float,
        help="seconds between drift checks of a settled component (default 300) "
        "[IC_OPERATOR_RESYNC_INTERVAL]",
    )
    parser.add_argument(
        "--log-format",
        choices=["text", "json"],
        help="log format (default text) [IC_OPERATOR_LOG_FORMAT]",
    )
    parser.add_argument(
        "--max-concurrency",
        type=int,
        help="SageMaker calls in flight at most (default 10) [IC_OPERATOR_MAX_CONCURRENCY]",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        help="Prometheus /metrics port, 0 disables (default 9090) [IC_OPERATOR_METRICS_PORT]",
    )
    parser.add_argument(
        "--health-port",
        type=int,
        help="liveness /healthz port (default 8081) [IC_OPERATOR_HEALTH_PORT]",
    )
    parser.add_argument(
        "--peering",
        help="kopf peering name for a standby replica; unset: standalone [IC_OPERATOR_PEERING]",
    )
    parser.add_argument(
        "--endpoint-policy",
        metavar="FILE",
        help="YAML map namespace -> endpoint-name globs it may target "
        "[IC_OPERATOR_ENDPOINT_POLICY]",
    )
    parser.add_argument(
        "--poll-min",
        type=float,
        help="shortest poll while SageMaker "
        "transitions, seconds (default 5) [IC_OPERATOR_POLL_MIN]",
    )
    parser.add_argument(
        "--poll-max",
        type=float,
        help="longest poll while SageMaker "
        "transitions, seconds (default 60) [IC_OPERATOR_POLL_MAX]",
    )
    parser.add_argument(
        "--confirm-window",
        type=float,
        help="seconds a reading older than the last write is waited out before it is judged "
        "(default 60) [IC_OPERATOR_CONFIRM_WINDOW]",
    )
    parser.add_argument(
        "--max-calls-per-second",
        type=float,
        help="client-side rate limit shared by all SageMaker calls, 0 disables (default 20) "
        "[IC_OPERATOR_MAX_CALLS_PER_SECOND]",
    )
    parser.add_argument(
        "--autoscaling-resync-interval",
        type=float,
        help="seconds between the shared listings of every component's autoscaling "
        "(targets, policies, scheduled actions, alarms, in pages), which find hand edits "
        "(default --full-listing-interval) [IC_OPERATOR_AUTOSCALING_RESYNC_INTERVAL]",
    )
    parser.add_argument(
        "--full-listing-interval",
        type=float,
        help="seconds between full listings of each endpoint, which find components "
        "deleted out of band; between them one region-wide listing of recent changes "
        "answers the resyncs (default twice --resync-interval, at least it) "
        "[IC_OPERATOR_FULL_LISTING_INTERVAL]",
    )
    parser.add_argument(
        "--cross-namespace-endpoint-refs",
        action="store_true",
        default=False,
        help="let spec.endpointRef name an ACK Endpoint in another namespace (default: "
        "only the component's own) [IC_OPERATOR_CROSS_NAMESPACE_ENDPOINT_REFS=true]",
    )


def from_args(args: argparse.Namespace) -> Settings:
    def pick(flag: object, env: str, default: object) -> object:
        if flag is not None:
            return flag
        value = _env(env)
        return value if value is not None else default

    namespaces: tuple[str, ...]
    if args.namespace:
        namespaces = tuple(args.namespace)
    else:
        env_ns = _env("IC_OPERATOR_NAMESPACES") or ""
        namespaces = tuple(n.strip() for n in env_ns.split(",") if n.strip())
    region = args.region or _env("AWS_REGION") or _env("AWS_DEFAULT_REGION") or "us-east-1"
    resync = float(pick(args.resync_interval, "IC_OPERATOR_RESYNC_INTERVAL", 300))  # type: ignore[arg-type]
    full_listing = pick(args.full_listing_interval, "IC_OPERATOR_FULL_LISTING_INTERVAL", None)
    full = 2 * resync if full_listing is None else float(full_listing)  # type: ignore[arg-type]
    scaling = pick(
        args.autoscaling_resync_interval, "IC_OPERATOR_AUTOSCALING_RESYNC_INTERVAL", full
    )
    settings = Settings(
        namespaces=namespaces,
        region=region,
        resync_interval=resync,
        full_listing_interval=full,
        log_format=str(pick(args.log_format, "IC_OPERATOR_LOG_FORMAT", "text")),
        max_concurrency=int(pick(args.max_concurrency, "IC_OPERATOR_MAX_CONCURRENCY", 10)),  # type: ignore[call-overload]
        metrics_port=int(pick(args.metrics_port, "IC_OPERATOR_METRICS_PORT", 9090)),  # type: ignore[call-overload]
        health_port=int(pick(args.health_port, "IC_OPERATOR_HEALTH_PORT", 8081)),  # type: ignore[call-overload]
        peering=pick(args.peering, "IC_OPERATOR_PEERING", None),  # type: ignore[arg-type]
        endpoint_policy=EndpointPolicy.load(
            args.endpoint_policy or _env("IC_OPERATOR_ENDPOINT_POLICY")
        ),
        poll_min=float(pick(args.poll_min, "IC_OPERATOR_POLL_MIN", 5)),  # type: ignore[arg-type]
        poll_max=float(pick(args.poll_max, "IC_OPERATOR_POLL_MAX", 60)),  # type: ignore[arg-type]
        confirm_window=float(pick(args.confirm_window, "IC_OPERATOR_CONFIRM_WINDOW", 60)),  # type: ignore[arg-type]
        max_calls_per_second=float(
            pick(args.max_calls_per_second, "IC_OPERATOR_MAX_CALLS_PER_SECOND", 20)  # type: ignore[arg-type]
        ),
        autoscaling_resync_interval=float(scaling),  # type: ignore[arg-type]
        cross_namespace_endpoint_refs=args.cross_namespace_endpoint_refs
        or _env("IC_OPERATOR_CROSS_NAMESPACE_ENDPOINT_REFS") in ("true", "1"),
        unmapped_namespaces=str(
            pick(args.unmapped_namespaces, "IC_OPERATOR_UNMAPPED_NAMESPACES", "OperatorIdentity")
        ),
        cluster_name=str(pick(args.cluster_name, "IC_OPERATOR_CLUSTER_NAME", "kubernetes")),
    )
    if settings.unmapped_namespaces not in UNMAPPED_CHOICES:
        raise ValueError(f"unmapped namespaces must be one of {', '.join(UNMAPPED_CHOICES)}")
    if settings.max_calls_per_second < 0:
        raise ValueError("max calls per second must be >= 0")
    if settings.log_format not in ("text", "json"):
        raise ValueError("log format must be text or json")
    if settings.resync_interval <= 0 or settings.max_concurrency < 1:
        raise ValueError("resync interval must be > 0 and max concurrency >= 1")
    if settings.full_listing_interval < settings.resync_interval:
        raise ValueError("full listing interval must be >= resync interval")
    if settings.autoscaling_resync_interval <= 0:
        raise ValueError("autoscaling resync interval must be > 0")
    if settings.confirm_window < 0:
        raise ValueError("confirm window must be >= 0")
    if not 0 < settings.poll_min <= settings.poll_max:
        raise ValueError("poll bounds must satisfy 0 < poll-min <= poll-max")
    return settings
