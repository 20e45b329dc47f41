"""`python -m tools.latency`: the batch-1 latency of every shipped preset in every export
format (the benchmark lives in tools/speed/latency.py)."""

import sys

from .speed.latency import main

if __name__ == "__main__":
    sys.exit(main())
