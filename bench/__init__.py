"""`make bench`: the operator at 100 and 1,000 components, against real processes.

The harness starts the real control plane (etcd + kube-apiserver), the SageMaker
emulator and `ic-operator run` as separate processes on loopback, drives them the
way a user would (kubectl apply/patch), and reads the figures from the emulator's
call log and from /proc. Nothing here is imported by the operator or the tests'
fixtures; bench/tests/ covers the pure parts.
"""
