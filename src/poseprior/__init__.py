"""poseprior: probabilistic human pose modelling.

Layers, bottom to top: ``geometry`` -> ``skeleton`` -> ``io``, ``data``, ``metrics`` -> ``models`` ->
``tasks`` -> ``train``, ``zoo`` -> ``cli``, ``viz``. Imports point downward only.

Example:
    >>> import poseprior
    >>> prior = poseprior.load("flow-bandai")  # doctest: +SKIP
    >>> prior.sample(16).shape  # doctest: +SKIP
    torch.Size([16, 20, 3, 3])
"""

__version__ = "0.1.0"
__all__ = ["load", "__version__"]


def __getattr__(name: str):
    # Lazy: `import poseprior` (and the CLI's --help) must not pay for importing torch.
    if name == "load":
        from poseprior.zoo import load

        return load
    raise AttributeError(f"module 'poseprior' has no attribute {name!r}")
