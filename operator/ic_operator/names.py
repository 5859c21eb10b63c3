"""The names the operator is known by in Kubernetes and in AWS: the resource's group,
version and kind, the finalizer and annotations on its objects, the tags on what it
creates in SageMaker.

They are a contract with everything outside the process (stored objects, IAM policies
that condition on the owner tag, the chart's RBAC, users' scripts), so they are written
once, here, and imported by every layer; this module imports nothing.
"""

from __future__ import annotations

API_GROUP = "sagemaker.ic-operator.io"
API_VERSION = "v1alpha1"
KIND = "InferenceComponent"
PLURAL = "inferencecomponents"
# The cluster-scoped resource that maps namespaces to AWS accounts (docs/accounts.md).
MAPPING_KIND = "AccountMapping"
MAPPING_PLURAL = "accountmappings"

# On the InferenceComponent objects. kopf keeps its own bookkeeping annotations under
# the same prefix (its progress and the last configuration it handled).
ANNOTATION_PREFIX = API_GROUP
FINALIZER = f"{API_GROUP}/finalizer"
RETRY_ANNOTATION = f"{API_GROUP}/retry"
# A new value asks for one redeploy of the spec as it stands (like `kubectl rollout
# restart`'s restartedAt): an annotation, not a spec field, so asking changes neither the
# generation nor the specification hash that verdicts and the retry block are keyed on.
REDEPLOY_ANNOTATION = f"{API_GROUP}/redeploy"

# On what the operator creates in SageMaker: who owns it, for the ownership check and
# for IAM conditions (aws:RequestTag/…/owner-uid).
OWNER_UID_TAG = f"{API_GROUP}/owner-uid"
OWNER_RESOURCE_TAG = f"{API_GROUP}/resource"
# Tag keys a user may not set: the operator's own, and AWS's.
RESERVED_TAG_PREFIXES = (f"{API_GROUP}/", "aws:")
