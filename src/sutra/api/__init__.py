"""sutra-api: the public REST gateway (validation, rate limits, cache, circuit breakers)."""
