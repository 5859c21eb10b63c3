"""`ic-sandbox demo`: the sandbox, driven and narrated step by step."""
