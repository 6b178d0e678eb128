"""The offline trainer: reads events, fits implicit ALS, precomputes answers and publishes them to Redis."""
