"""sutra-hybrid's routes, one module per resource (served by `sutra.common.routing`)."""
