"""A real node joined to the local control plane, so pods run (docs/node.md): the node
itself, its private containerd, its network namespace, its cluster DNS, and what it
changes on the host (hosteffects)."""
