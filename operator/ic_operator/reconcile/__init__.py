"""One reconcile pass: observe SageMaker, plan (pure), execute, and build the status."""
