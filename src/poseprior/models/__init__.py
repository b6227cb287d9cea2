"""Models: pose priors and lifters."""
