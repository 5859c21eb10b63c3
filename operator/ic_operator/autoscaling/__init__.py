"""spec.autoScaling as one capability: the pure plan, the calls that sync it, and when to sync."""
