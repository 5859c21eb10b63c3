"""Instance resources and the packing check that bounds how many copies an endpoint holds.

Figures are the published vCPU / memory / accelerator counts of each instance type
(doc, AWS instance pages). For Inferentia/Trainium the accelerator unit is the NeuronCore,
which is what inference components count (inf). The emulator uses the whole instance:
real SageMaker reserves some memory for its agents, so real endpoints hold slightly fewer
copies than the emulator admits (inf, documented in docs/emulator.md).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Demand:
    """What one copy needs from one instance (a copy never spans instances)."""

    accelerators: float
    cpus: float
    memory_mib: int


@dataclass(frozen=True)
class InstanceSpec:
    cpus: int
    memory_mib: int
    accelerators: int


def _gib(n: int) -> int:
    return n * 1024


# name -> (vCPUs, memory GiB, accelerators)
_TABLE: dict[str, tuple[int, int, int]] = {
    # general purpose / compute optimised (no accelerators)
    "ml.t2.medium": (2, 4, 0),
    "ml.t2.large": (2, 8, 0),
    "ml.t2.xlarge": (4, 16, 0),
    "ml.m5.large": (2, 8, 0),
    "ml.m5.xlarge": (4, 16, 0),
    "ml.m5.2xlarge": (8, 32, 0),
    "ml.m5.4xlarge": (16, 64, 0),
    "ml.m5.12xlarge": (48, 192, 0),
    "ml.m5.24xlarge": (96, 384, 0),
    "ml.m6i.large": (2, 8, 0),
    "ml.m6i.xlarge": (4, 16, 0),
    "ml.m6i.2xlarge": (8, 32, 0),
    "ml.m6i.4xlarge": (16, 64, 0),
    "ml.m6i.8xlarge": (32, 128, 0),
    "ml.m6i.12xlarge": (48, 192, 0),
    "ml.m6i.16xlarge": (64, 256, 0),
    "ml.m6i.24xlarge": (96, 384, 0),
    "ml.m6i.32xlarge": (128, 512, 0),
    "ml.c5.large": (2, 4, 0),
    "ml.c5.xlarge": (4, 8, 0),
    "ml.c5.2xlarge": (8, 16, 0),
    "ml.c5.4xlarge": (16, 32, 0),
    "ml.c5.9xlarge": (36, 72, 0),
    "ml.c5.18xlarge": (72, 144, 0),
    "ml.c6i.large": (2, 4, 0),
    "ml.c6i.xlarge": (4, 8, 0),
    "ml.c6i.2xlarge": (8, 16, 0),
    "ml.c6i.4xlarge": (16, 32, 0),
    "ml.c6i.8xlarge": (32, 64, 0),
    "ml.c6i.16xlarge": (64, 128, 0),
    "ml.r5.large": (2, 16, 0),
    "ml.r5.xlarge": (4, 32, 0),
    "ml.r5.2xlarge": (8, 64, 0),
    "ml.r5.4xlarge": (16, 128, 0),
    "ml.r5.12xlarge": (48, 384, 0),
    "ml.r5.24xlarge": (96, 768, 0),
    # NVIDIA GPU instances
    "ml.g4dn.xlarge": (4, 16, 1),
    "ml.g4dn.2xlarge": (8, 32, 1),
    "ml.g4dn.4xlarge": (16, 64, 1),
    "ml.g4dn.8xlarge": (32, 128, 1),
    "ml.g4dn.12xlarge": (48, 192, 4),
    "ml.g4dn.16xlarge": (64, 256, 1),
    "ml.g5.xlarge": (4, 16, 1),
    "ml.g5.2xlarge": (8, 32, 1),
    "ml.g5.4xlarge": (16, 64, 1),
    "ml.g5.8xlarge": (32, 128, 1),
    "ml.g5.12xlarge": (48, 192, 4),
    "ml.g5.16xlarge": (64, 256, 1),
    "ml.g5.24xlarge": (96, 384, 4),
    "ml.g5.48xlarge": (192, 768, 8),
    "ml.g6.xlarge": (4, 16, 1),
    "ml.g6.2xlarge": (8, 32, 1),
    "ml.g6.4xlarge": (16, 64, 1),
    "ml.g6.8xlarge": (32, 128, 1),
    "ml.g6.12xlarge": (48, 192, 4),
    "ml.g6.16xlarge": (64, 256, 1),
    "ml.g6.24xlarge": (96, 384, 4),
    "ml.g6.48xlarge": (192, 768, 8),
    "ml.g6e.xlarge": (4, 32, 1),
    "ml.g6e.2xlarge": (8, 64, 1),
    "ml.g6e.4xlarge": (16, 128, 1),
    "ml.g6e.8xlarge": (32, 256, 1),
    "ml.g6e.12xlarge": (48, 384, 4),
    "ml.g6e.16xlarge": (64, 512, 1),
    "ml.g6e.24xlarge": (96, 768, 4),
    "ml.g6e.48xlarge": (192, 1536, 8),
    "ml.p3.2xlarge": (8, 61, 1),
    "ml.p3.8xlarge": (32, 244, 4),
    "ml.p3.16xlarge": (64, 488, 8),
    "ml.p4d.24xlarge": (96, 1152, 8),
    "ml.p4de.24xlarge": (96, 1152, 8),
    "ml.p5.48xlarge": (192, 2048, 8),
    "ml.p5e.48xlarge": (192, 2048, 8),
    "ml.p5en.48xlarge": (192, 2048, 8),
    # AWS Inferentia / Trainium (NeuronCores)
    "ml.inf2.xlarge": (4, 16, 2),
    "ml.inf2.8xlarge": (32, 128, 2),
    "ml.inf2.24xlarge": (96, 384, 12),
    "ml.inf2.48xlarge": (192, 768, 24),
    "ml.trn1.2xlarge": (8, 32, 2),
    "ml.trn1.32xlarge": (128, 512, 32),
}

INSTANCE_TYPES: dict[str, InstanceSpec] = {
    name: InstanceSpec(cpus=c, memory_mib=_gib(m), accelerators=a)
    for name, (c, m, a) in _TABLE.items()
}


def fits(instance: InstanceSpec, count: int, demands: Counter[Demand]) -> bool:
    """First-fit decreasing over `count` identical instances.

    Copies are grouped by identical demand, so the cost is O(distinct demands * instances),
    independent of how many copies or components the endpoint holds.
    """
    free = [[float(instance.accelerators), float(instance.cpus), float(instance.memory_mib)]]
    free = [list(free[0]) for _ in range(count)]
    for demand, n in sorted(demands.items(), key=lambda kv: kv[0], reverse=True):
        need = (demand.accelerators, demand.cpus, float(demand.memory_mib))
        remaining = n
        for slot in free:
            if remaining <= 0:
                break
            per = remaining
            for have, want in zip(slot, need, strict=True):
                if want > 0:
                    per = min(per, int((have + 1e-9) // want))
            if per <= 0:
                continue
            for i in range(3):
                slot[i] -= per * need[i]
            remaining -= per
        if remaining > 0:
            return False
    return True
