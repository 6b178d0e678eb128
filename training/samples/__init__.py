"""Sample shops written as files the trainer reads: the demo shop (``recsvc demo``, the tests) and a
synthetic shop of RetailRocket's shape at any scale (the benchmarks)."""
