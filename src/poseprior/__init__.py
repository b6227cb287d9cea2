"""poseprior: probabilistic human pose modelling.

Layers, bottom to top: ``geometry`` -> ``skeleton`` -> ``io``, ``data``, ``metrics`` -> models -> tasks ->
``cli``, ``viz``. Imports point downward only.
"""

__version__ = "0.1.0"
