"""sutra-hybrid: embeddings, learning (association extraction) and multi-path reasoning."""
