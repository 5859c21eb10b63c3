"""`python -m bench --accounts K`: N components split across K namespaces, each mapped by an
AccountMapping to a role in its own emulated account, served by one operator (issue 20,
docs/accounts.md). Per account it reports the edit latency (edit -> UpdateInferenceComponent
in that account, p50/p99) and the steady calls per component per hour; with
`--throttle-account`, the first account throttles half of its calls (the emulator's
per-account fault, SageMaker's ThrottlingException) during the edit phase, and the other
accounts' edit p99 says whether its backoff held them back (target < 1 s).

The edits go round-robin across the accounts at `--edit-interval`, so each account's
edits meet the others' traffic at the same moments.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

import yaml

from bench import scenario, stats, workload
from bench.world import RESOURCE, BenchError, Operator, wait_for
from ic_operator import API_GROUP, API_VERSION
from ic_sandbox.harness.emulator_process import ACCOUNT_ID, REGION, ROLE_ARN, aws_client
from ic_sandbox.harness.identity import AwsCredentials

CLUSTER = "bench"
OPERATOR_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/ic-operator"
THROTTLE_RATE = 0.5


@dataclass(frozen=True)
class Team:
    """One namespace, its account and role, and its share of the components."""

    index: int
    account: str
    run: str  # the workload's name prefix
    namespace: str
    components: int

    @property
    def role_name(self) -> str:
        return f"ic-operator-{self.run}"

    @property
    def role(self) -> str:
        return f"arn:aws:iam::{self.account}:role/{self.role_name}"


def teams(cfg: scenario.RunConfig, accounts: int) -> list[Team]:
    """The components split as evenly as they go; accounts 111111111111, 222222222222..."""
    if not 1 <= accounts <= 9:
        raise BenchError("--accounts: 1 to 9")
    suffix = uuid.uuid4().hex[:6]
    share, extra = divmod(cfg.components, accounts)
    return [
        Team(
            i,
            str(i + 1) * 12,
            f"{cfg.run}a{i}",
            f"bench-{cfg.run}a{i}-{suffix}",
            share + (1 if i < extra else 0),
        )
        for i in range(accounts)
    ]


def _trust() -> dict[str, Any]:
    """docs/accounts.md's team trust policy (without the external id)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": OPERATOR_ROLE},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }


def _mapping(team: Team) -> dict[str, Any]:
    return {
        "apiVersion": f"{API_GROUP}/{API_VERSION}",
        "kind": "AccountMapping",
        "metadata": {"name": team.namespace},
        "spec": {
            "roleArn": team.role,
            "defaultRegion": REGION,
            "namespaceSelector": {"names": [team.namespace]},
        },
    }


def prepare(ctx: scenario.Context, cfg: scenario.RunConfig, team_list: list[Team]) -> None:
    """Each team's role (trust: the operator's role), endpoints in its account, namespace
    and AccountMapping."""
    admin = ctx.emulator.admin
    endpoints: dict[str, tuple[Any, list[str]]] = {}
    for team in team_list:
        admin.request(
            "PUT", f"roles/{team.role_name}", {"account_id": team.account, "trust_policy": _trust()}
        )
        issued = admin.request(
            "POST",
            "access-keys",
            {"role": team.role_name, "session_name": "bench", "account_id": team.account},
        )
        client = aws_client(ctx.emulator.url, credentials=AwsCredentials.issued(issued))
        names = workload.endpoint_names(team.run, team.components, cfg.per_endpoint)
        for name in names:
            client.create_endpoint_config(
                EndpointConfigName=f"{name}-config",
                ExecutionRoleArn=ROLE_ARN.replace(ACCOUNT_ID, team.account),
                ProductionVariants=[
                    {
                        "VariantName": "AllTraffic",
                        "InstanceType": "ml.m5.24xlarge",
                        "InitialInstanceCount": 2,
                    }
                ],
            )
            client.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
        endpoints[team.account] = (client, names)
        ctx.kubectl("create", "namespace", team.namespace)
    ctx.kubectl("apply", "-f", "-", input=yaml.safe_dump_all([_mapping(t) for t in team_list]))

    def in_service() -> bool:
        return all(
            client.describe_endpoint(EndpointName=n)["EndpointStatus"] == "InService"
            for client, names in endpoints.values()
            for n in names
        )

    wait_for(in_service, timeout=600 * cfg.time_scale + 60, interval=1.0, what="endpoints")


def apply(ctx: scenario.Context, cfg: scenario.RunConfig, team_list: list[Team]) -> list[str]:
    """Every team's components applied; waits until all are Ready. The names, by team."""
    docs = {
        t.account: workload.manifests(t.run, t.namespace, t.components, cfg.per_endpoint)
        for t in team_list
    }
    t0 = time.monotonic()
    for chunk_docs in docs.values():
        for chunk in workload.chunks(chunk_docs, cfg.apply_chunk):
            ctx.kubectl(
                "apply", "--server-side", "--field-manager=bench", "-f", "-",
                input=workload.multi_document(chunk),
            )  # fmt: skip

    def all_ready() -> bool:
        return all(
            sum(workload.is_ready(i) for i in ctx.api.list_components(t.namespace)) == t.components
            for t in team_list
        )

    wait_for(all_ready, timeout=cfg.ready_timeout, interval=2.0, what="every component Ready")
    ctx.progress(f"[accounts] {cfg.components} Ready in {time.monotonic() - t0:.1f}s")
    return [d["metadata"]["name"] for chunk_docs in docs.values() for d in chunk_docs]


def edit(
    ctx: scenario.Context, cfg: scenario.RunConfig, team_list: list[Team], *, throttle: bool
) -> dict[str, Any]:
    """cfg.edits image edits round-robin across the teams; per account, when each reached
    SageMaker (the first UpdateInferenceComponent carrying it, in the team's account)."""
    admin = ctx.emulator.admin
    throttled = team_list[0] if throttle else None
    if throttled is not None:
        admin.set_faults(account=throttled.account, region=REGION, throttle_rate=THROTTLE_RATE)
    ctx.emulator.clear_calls()
    samples = {
        t.account: workload.samples(
            [workload.component_name(t.run, i) for i in range(t.components)],
            edits=cfg.edits,
            rollouts=0,
            seed=cfg.seed,
        )["quiet"]
        for t in team_list
    }
    edits: list[dict[str, Any]] = []
    start = time.monotonic()
    try:
        for index in range(cfg.edits):
            team = team_list[index % len(team_list)]
            name = samples[team.account][index // len(team_list)]
            image = workload.edited_image(index, "acct")
            before = time.time()
            ctx.kubectl(
                "patch", RESOURCE, name, "-n", team.namespace, "--type=merge",
                "-p", json.dumps(workload.image_patch(image)),
            )  # fmt: skip
            edits.append({"account": team.account, "name": name, "image": image, "before": before})
            edits[-1]["after"] = time.time()
            time.sleep(max(0.0, start + (index + 1) * cfg.edit_interval - time.monotonic()))
        deadline = time.monotonic() + cfg.edit_timeout
        while True:
            calls = ctx.emulator.calls()
            for e in edits:
                if e.get("at") is None:
                    mine = [c for c in calls if c.get("account") == e["account"]]
                    e["at"] = workload.update_call_at(mine, e["name"], e["image"], e["before"])
            if all(e["at"] is not None for e in edits) or time.monotonic() > deadline:
                break
            time.sleep(1.0)
    finally:
        if throttled is not None:
            admin.set_faults(account=throttled.account, region=REGION)
    per_account: dict[str, Any] = {}
    for team in team_list:
        mine = [e for e in edits if e["account"] == team.account]
        calls_here = [c for c in calls if c.get("account") == team.account]
        per_account[team.account] = {
            "throttled": team is throttled,
            "edits": len(mine),
            "missing": [e["name"] for e in mine if e["at"] is None],
            "from_patch_returned": stats.summary(
                [e["at"] - e["after"] for e in mine if e["at"] is not None]
            ),
            "calls": len(calls_here),
            "throttled_calls": sum(c.get("error") == "ThrottlingException" for c in calls_here),
        }
    return per_account


def steady(ctx: scenario.Context, cfg: scenario.RunConfig, team_list: list[Team]) -> dict[str, Any]:
    """Calls per component per hour of each account over cfg.windows resync intervals."""
    time.sleep(2 * cfg.resync)  # the edits' tail: every component resynced since
    ctx.emulator.clear_calls()
    t0 = time.time()
    time.sleep(cfg.windows * cfg.resync)
    window = time.time() - t0
    calls = [c for c in ctx.emulator.calls() if c["at"] >= t0]
    out: dict[str, Any] = {}
    for team in team_list:
        counts = stats.count_by([c for c in calls if c.get("account") == team.account], "operation")
        rates = stats.per_component_hour(counts, components=team.components, window_seconds=window)
        total = sum(rates.values())
        out[team.account] = {
            "window_seconds": window,
            "per_component_hour": rates,
            "per_component_hour_total": total,
            "per_component_hour_total_at_300s": stats.at_resync(
                total, measured_resync=cfg.resync, target_resync=scenario.DEFAULT_RESYNC
            ),
        }
    return out


def run(
    ctx: scenario.Context, cfg: scenario.RunConfig, accounts: int, *, throttle: bool
) -> dict[str, Any]:
    team_list = teams(cfg, accounts)
    prepare(ctx, cfg, team_list)
    flags = [
        *(f for t in team_list[1:] for f in ("--namespace", t.namespace)),
        "--unmapped-namespaces", "Refuse", "--cluster-name", CLUSTER,
    ]  # fmt: skip
    operator = Operator(
        ctx.log_dir / f"operator-{cfg.run}-accounts.log",
        ctx.kubeconfig,
        ctx.emulator.url,
        team_list[0].namespace,
        [*cfg.operator_flags(), *flags],
        credentials=ctx.emulator.operator_credentials(),
        extra_env=dict(cfg.extra_env),
    )
    result: dict[str, Any] = {
        "teams": [t.__dict__ for t in team_list],
        "throttled_account": team_list[0].account if throttle else None,
        "throttle_rate": THROTTLE_RATE if throttle else 0.0,
        "errors": [],
    }
    operator.start()
    try:
        apply(ctx, cfg, team_list)
        result["edits"] = edit(ctx, cfg, team_list, throttle=throttle)
        result["steady"] = steady(ctx, cfg, team_list)
    except BenchError as exc:
        result["errors"].append(str(exc))
        ctx.progress(f"[accounts] FAILED: {exc}")
    finally:
        operator.stop()
    return result


def table(result: dict[str, Any]) -> str:
    """One row per account."""
    rows = [
        "| account | components | throttled (50 %) | edits | edit→Update p50 | p99 | "
        "throttled calls | calls/component/h (at R) | at R = 300 s |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for team in result["teams"]:
        account = team["account"]
        e = (result.get("edits") or {}).get(account, {})
        s = (result.get("steady") or {}).get(account, {})
        lat = e.get("from_patch_returned", {})
        rows.append(
            f"| {account} | {team['components']} | {'yes' if e.get('throttled') else 'no'} | "
            f"{lat.get('count', 0)}/{e.get('edits', 0)} | {lat.get('p50', float('nan')):.3f} s | "
            f"{lat.get('p99', float('nan')):.3f} s | {e.get('throttled_calls', 0)} | "
            f"{s.get('per_component_hour_total', float('nan')):.1f} | "
            f"{s.get('per_component_hour_total_at_300s', float('nan')):.1f} |"
        )
    return "\n".join(rows)


def report(
    args: argparse.Namespace,
    result: dict[str, Any],
    *,
    argv: list[str] | None,
    date: str,
    n: int,
    info: dict[str, Any],
) -> None:
    """Print the per-account table and save the run beside the other results."""
    text = table(result)
    print(f"\nN = {n} across {args.accounts} accounts\n{text}")
    for error in result["errors"]:
        print(f"  ! {error}")
    throttled = "-throttled" if args.throttle_account else ""
    path = args.out / f"{date}-{n}-accounts{args.accounts}{throttled}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    command = " ".join(["python -m bench", *(argv or sys.argv[1:])])
    document = {"date": date, "command": command, "machine": info, "run": result, "table": text}
    path.write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
    print(f"  (saved {path})")
