"""Generated protocol stubs of sutra.storage.v1 (regenerate with proto/generate.py)."""
