"""sagemaker-ic-operator: Amazon SageMaker inference components as Kubernetes resources."""

# The resource's names live in ic_operator.names; the local world and the tests read
# these four from the package itself.
from ic_operator.names import API_GROUP, API_VERSION, KIND, PLURAL

__version__ = "0.1.0"

__all__ = ["API_GROUP", "API_VERSION", "KIND", "PLURAL", "__version__"]
