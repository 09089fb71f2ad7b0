"""Suite-wide settings. Each area (manifests, policies, gitops, storage, ...) has its own conftest."""
