"""`ic-sandbox up` and the demo's world: the control plane, the CRD, the emulator with
the endpoints examples/ expect, and the operator, started in order as one stack."""
