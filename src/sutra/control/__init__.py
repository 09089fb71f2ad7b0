"""sutra-control: the operator dashboard (HTTP 9000, admin).

Everything it shows is read from the services themselves (their `/health`, `/ready` and
`/metrics`, and the storage server's `GetStats`), sampled on an interval and pushed to the
page over a WebSocket; nothing on the page is invented.
"""
