"""`python -m sutra.hybrid`: serve learning and reasoning (settings from SUTRA_* variables)."""

import sys

from sutra.hybrid.server import main

if __name__ == "__main__":
    sys.exit(main())
