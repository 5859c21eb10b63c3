"""One reconcile pass: observe SageMaker, plan (pure), execute, and build the status.

- passes: the Reconciler the per-object loop calls; apply_pass and delete_pass: the
  two passes, each read top to bottom.
- types: the vocabulary (Act and its ACTIONS table, Wake, Plan, PassContext, PassResult).
- plan (apply), delete, failures (after a failed call), verdict (how a deployment ended),
  confirmation (does a reading show the last write), triage (does the listing suffice),
  ownership (tags), asked (the retry and redeploy annotations): the pure planner.
- observe, sweep: the reads; execute: the writes; status, conditions: what is recorded.
"""
