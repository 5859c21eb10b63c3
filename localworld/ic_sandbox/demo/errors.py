"""The demo's one error: a step did not turn out as narrated."""


class DemoError(RuntimeError):
    """A step did not turn out as narrated; the message says what was expected and seen."""
