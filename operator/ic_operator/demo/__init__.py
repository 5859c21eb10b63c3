"""`ic-operator demo`: the sandbox, driven and narrated step by step."""
