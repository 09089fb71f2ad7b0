"""Storage shards: a concept space split by rendezvous hashing, and the client that routes.

See docs/storage-sharding.md. `map` decides which shard owns a concept, `router` is the
client with `StorageClient`'s interface, `paths` runs path search across shards, `service`
holds the server side (ownership checks, batched neighbours, edge scans) and `check` finds
association halves missing on one endpoint's shard.
"""
