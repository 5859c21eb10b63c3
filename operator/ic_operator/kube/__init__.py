"""The kopf layer: handlers that only wake loops, the wiring at start, login and the
status client."""
