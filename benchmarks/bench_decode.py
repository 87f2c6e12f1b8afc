"""Decoding speed: the tutorial's pipeline (A), blogneo's default (B) and llama.cpp (C), in one run.

    python benchmarks/bench_decode.py [--quick] [--json FILE]

`make bench` installs llama-cpp-python (it compiles, several minutes the first time) and runs this.
The code is blogneo.bench, so that notebook 06 can run the same benchmark on Colab too.
"""

import sys

from blogneo.bench import main

if __name__ == "__main__":
    sys.exit(main())
