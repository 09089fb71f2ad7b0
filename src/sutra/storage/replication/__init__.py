"""Replicating the storage log through NATS JetStream (docs/storage-replication.md)."""
