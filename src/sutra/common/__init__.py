"""Settings, logging and metrics helpers shared by the Sutra services."""
