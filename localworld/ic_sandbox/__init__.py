"""The local world for tests and the demo: a real control plane, later the emulator and operator.

Nothing in the operator proper imports this package (import-linter enforces it).
"""
