"""One loop per InferenceComponent: when a pass runs, which pass may be cut short, and
the write-ahead status write."""
