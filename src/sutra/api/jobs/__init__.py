"""Bulk ingest: POST /learn/jobs takes an NDJSON upload, a worker learns it batch by batch.

`Jobs` (service) ties the queue (local directory or Redis), the worker and the metrics
together; the app serves `router` (`job_routes`) and starts and stops `Jobs` in its lifespan.
"""
