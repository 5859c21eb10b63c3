"""spec.autoScaling as one capability: the pure plan, the calls that sync it, when to sync,
and the listings shared by every component that find drift (sweep)."""
