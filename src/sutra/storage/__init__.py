"""The Sutra storage server: a durable single-writer knowledge store served over gRPC."""
