"""The store's request bounds, shared by the server and the clients (the shard router).

Kept apart from the engine so that a client imports them without LMDB, which the api, hybrid
and control images do not install.
"""

from __future__ import annotations

DEFAULT_PATH_DEPTH = 6
MAX_PATH_DEPTH = 32
MAX_PATH_VISITED = 200_000
MAX_K = 10_000
MAX_GET_CONCEPTS = 1_000
MAX_EF = 100_000
MAX_BATCH_IDS = 10_000  # ids per GetNeighborsBatch request
