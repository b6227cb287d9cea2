"""The registry of model classes that an exported model file may name.

An exported ``NAME.json`` says which class to build (``"class": "FlowPrior"``) and with which config; this
registry maps that name to the class and its config dataclass. Entries are import paths resolved on first
use, so that listing them imports no model code and a class whose module is missing gives a clear error.

Example:
    >>> model_class("FlowPrior").cls.__name__
    'FlowPrior'
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from torch import nn

from poseprior.errors import ValidationError

__all__ = ["ModelClass", "model_class", "register_model_class", "registered_classes"]


@dataclass(frozen=True)
class ModelClass:
    """How to rebuild a model from its exported config.

    Attributes:
        name: the class name written in exported files.
        module: the module defining the class and its config.
        class_name: the ``nn.Module`` subclass; it is built as ``cls(config)``, then its weights are loaded.
        config_name: the config dataclass, with ``to_dict()`` and ``from_dict(d)``.
    """

    name: str
    module: str
    class_name: str
    config_name: str

    def _resolve(self, attr: str) -> type:
        try:
            return getattr(importlib.import_module(self.module), attr)
        except (ImportError, AttributeError) as e:
            raise ValidationError(f"model class {self.name!r}: cannot import {self.module}.{attr} ({e})") from None

    @property
    def cls(self) -> type[nn.Module]:
        return self._resolve(self.class_name)

    @property
    def config_cls(self) -> type:
        return self._resolve(self.config_name)

    def build(self, config: dict) -> nn.Module:
        """An untrained model of this class from a config dict (as written by ``config.to_dict()``)."""
        return self.cls(self.config_cls.from_dict(config))


_CLASSES: dict[str, ModelClass] = {}


def register_model_class(name: str, module: str, class_name: str | None = None, config_name: str = "") -> ModelClass:
    """Register (or replace) a model class under ``name``; returns its entry.

    Args:
        name: the name written in exported files (by default also the class's name in ``module``).
        module: dotted module path, imported on first use.
        class_name: the class's attribute name in ``module`` (default ``name``).
        config_name: its config dataclass's name in ``module`` (default ``<name without Prior>Config``).
    """
    class_name = class_name or name
    entry = ModelClass(name, module, class_name, config_name or class_name.removesuffix("Prior") + "Config")
    _CLASSES[name] = entry
    return entry


def model_class(name: str) -> ModelClass:
    """The registered entry for ``name``; :class:`ValidationError` listing the known classes otherwise."""
    if name not in _CLASSES:
        raise ValidationError(f"model class {name!r} is not registered; known classes: {', '.join(sorted(_CLASSES))}")
    return _CLASSES[name]


def registered_classes() -> list[str]:
    """Names of the registered model classes."""
    return sorted(_CLASSES)


register_model_class("FlowPrior", "poseprior.models.flow.prior", config_name="FlowConfig")
register_model_class("ConditionalFlowPrior", "poseprior.models.flow.conditional")
register_model_class("TangentGaussianPrior", "poseprior.models.baseline", config_name="GaussianConfig")
register_model_class("VAEPrior", "poseprior.models.vae")
register_model_class("DistanceFieldPrior", "poseprior.models.ndf")
register_model_class("ProbabilisticLifter", "poseprior.models.lifter.flow", config_name="FlowLifterConfig")
register_model_class("RotationLifter", "poseprior.models.lifter.rotation", config_name="RotationLifterConfig")
