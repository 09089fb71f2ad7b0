"""sutra-client: the static web UI (ask and learn), its CDN bundle and a small local server.

In Kubernetes an unprivileged nginx serves the bundle and proxies `/api/` to sutra-api
(images/sutra-client/); locally `python -m sutra.client` does the same in Python. Only the
standard library is imported here and in `bundle`/`headers`, so the image's build stage can run
`python -m sutra.client.bundle` without installing the project's dependencies.
"""
