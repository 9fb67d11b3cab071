"""Packages that come with one of setup.py's extras, imported so that a core install still imports every module.

``extra_module("nuscenes.utils.splits", extra="nuscenes")`` returns the module when its
package is installed. When it is not, it returns a stand-in: reading an attribute gives
another stand-in, and calling, iterating, indexing or measuring one raises ``MissingExtraError``,
whose message names the extra to install (``pip install -e '.[nuscenes]'``). So
``pip install -e .`` alone imports every module of ``onedrive``, and code that needs an
extra fails when it runs, saying which. A package that is installed but broken (one of
its own imports missing) raises as usual.

``MISSING`` lists the stand-ins made in this process (``tests/packaging/check_core_install.py``
calls each one to check its message).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class MissingExtraError(ImportError):
    """Code needs a package of one of setup.py's extras, which is not installed."""


class MissingModule:
    """Stands for ``name`` (a module or an attribute path in it) whose package is not installed."""

    def __init__(self, name: str, extra: str):
        self._name = name
        self._extra = extra

    @property
    def extra(self) -> str:
        return self._extra

    def error(self) -> MissingExtraError:
        return MissingExtraError(
            f"{self._name} needs the '{self._extra}' extra, which is not installed: "
            f"pip install -e '.[{self._extra}]' (or pip install 'onedrive[{self._extra}]')"
        )

    def __getattr__(self, attribute: str) -> MissingModule:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return MissingModule(f"{self._name}.{attribute}", self._extra)

    def __call__(self, *args: Any, **kwargs: Any):
        raise self.error()

    def __iter__(self):
        raise self.error()

    def __getitem__(self, key: Any):
        raise self.error()

    def __len__(self) -> int:
        raise self.error()

    def __contains__(self, item: Any) -> bool:
        raise self.error()

    def __repr__(self) -> str:
        return f"<{self._name}: needs the '{self._extra}' extra>"


MISSING: list[MissingModule] = []


def extra_module(name: str, extra: str) -> ModuleType | MissingModule:
    """``import name``, or a ``MissingModule`` naming ``extra`` when name's top-level package is not installed."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        package = name.split(".")[0]
        if error.name is None or error.name.split(".")[0] != package:
            raise
        stand_in = MissingModule(name, extra)
        MISSING.append(stand_in)
        return stand_in
