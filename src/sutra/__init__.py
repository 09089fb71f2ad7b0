"""Sutra AI: an explainable knowledge system and the GitOps repository that deploys it."""

__version__ = "0.1.0"
