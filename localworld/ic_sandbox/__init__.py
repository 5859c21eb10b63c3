"""The local world around the operator: everything it needs to run without AWS or a cluster.

- `cluster/`: a real control plane (etcd, kube-apiserver) on loopback, and kubectl;
- `node/`: a real node joined to it (kubelet, containerd), for pods that must run;
- `emulator/`: the SageMaker, Application Auto Scaling and CloudWatch emulator;
- `harness/`: the operator and emulator processes and the CRD install that the sandbox,
  the tests and the benchmark share;
- `sandbox/`: `ic-sandbox up`, all of it as one stack; `demo/`: the narrated tour;
- `peers/`: tools users run beside the operator, built from pinned sources (Argo CD,
  ACK's SageMaker controller);
- `image.py`: the operator's image without Docker; `cli.py`: the `ic-sandbox` command;
- `processes.py`, `polling.py`, `listen_ports.py`, `startstop.py`: child processes that
  die with us, waits with deadlines, listen ports no outgoing connection takes, `with`.

Nothing in the operator proper imports this package (import-linter enforces it).
"""
