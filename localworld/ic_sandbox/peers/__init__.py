"""Peers the operator meets in users' clusters, built from their pinned sources and run
beside the local control plane: Argo CD (GitOps syncs) and ACK's SageMaker controller
(endpoints made with ACK, docs/ack.md)."""
