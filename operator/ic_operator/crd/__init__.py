"""The CustomResourceDefinition and docs/resource.md, generated from the pydantic models."""
