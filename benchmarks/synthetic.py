"""``python benchmarks/synthetic.py OUT_DIR [--scale 0.01] [--seed 0]`` writes the synthetic shop.

The generator is ``training/samples/synthetic.py``; this is its command line beside the benchmarks.
"""

import common  # noqa: F401  (first: the repository on sys.path)

from training.samples.synthetic import main

if __name__ == "__main__":
    main()
