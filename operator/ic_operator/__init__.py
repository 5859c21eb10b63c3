"""sagemaker-ic-operator: Amazon SageMaker inference components as Kubernetes resources."""

__version__ = "0.1.0"

API_GROUP = "sagemaker.ic-operator.io"
API_VERSION = "v1alpha1"
KIND = "InferenceComponent"
PLURAL = "inferencecomponents"
