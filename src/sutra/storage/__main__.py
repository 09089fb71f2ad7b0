"""`python -m sutra.storage`: serve the store (settings from SUTRA_* variables)."""

import sys

from sutra.storage.server import main

if __name__ == "__main__":
    sys.exit(main())
