"""Suite-wide settings; each area (manifests, storage, api, ...) has its own conftest."""
