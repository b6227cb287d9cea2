"""The model zoo: named pretrained models shipped in the package, the exported-model format, and the registry
of model classes an exported file may name.

Example:
    >>> import poseprior.zoo as zoo
    >>> [e.name for e in zoo.available()][:2]
    ['flow-bandai', 'flow-ik-bandai']
    >>> prior = zoo.load("flow-bandai")  # doctest: +SKIP
"""

from poseprior.zoo.classes import (
    ModelClass,
    model_class,
    register_model_class,
    registered_classes,
)
from poseprior.zoo.files import (
    ModelCard,
    model_files,
    read_card,
    read_model,
    write_model,
)
from poseprior.zoo.registry import (
    BANDAI_LICENCE,
    WEIGHTS_DIR,
    ZooEntry,
    available,
    info,
    load,
)

__all__ = [
    "load",
    "info",
    "available",
    "ZooEntry",
    "ModelCard",
    "BANDAI_LICENCE",
    "WEIGHTS_DIR",
    "write_model",
    "read_model",
    "read_card",
    "model_files",
    "ModelClass",
    "model_class",
    "register_model_class",
    "registered_classes",
]
