"""The dashboard page: plain HTML, CSS and JavaScript served as files (no build step)."""
