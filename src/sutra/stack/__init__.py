"""The whole stack on one laptop: `sutra up` starts every service as a local process."""
