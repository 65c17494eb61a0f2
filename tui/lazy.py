"""Package faces that import their modules on first use, so that importing one light module of a
package (or the package for one name) does not load every heavy library the others need."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def exports(package: str, modules: dict[str, tuple[str, ...]]) -> tuple[Callable[[str], object], list[str]]:
    """`__getattr__` and `__all__` for `package`, whose names live in its `modules` (module -> names).

    The face keeps the same imports under `if TYPE_CHECKING:` for readers, type checkers and the
    layering test; at run time a name's module is imported when the name is first used."""
    home = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> object:
        if name not in home:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{home[name]}"), name)

    return __getattr__, sorted(home)
