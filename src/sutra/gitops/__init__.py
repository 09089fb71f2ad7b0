"""The GitOps gate: render tiers with kustomize, validate schemas, evaluate Rego policies."""
