"""simple-salesforce without the parts the service never calls: they load on first use, not at import.

`simple_salesforce.api` imports, at import time, its SOAP Metadata API client (`.metadata`: zeep and lxml, about a
third of the package's import time), its login helpers (`.login`: PyJWT, and with it cryptography) and its two Bulk
API handlers (`.bulk`, `.bulk2`). The service calls the REST API only, with a token it fetched itself, so before
simple-salesforce is first imported each of those modules is registered as a stand-in: the names `api.py` takes from
it are callables that import the real module when called, and any other name imports it when read. Code that does use
them (`Salesforce.mdapi`, `SalesforceLogin`, `Salesforce.bulk`) works as before, and the library's files stay as
released. `sfzsync/__init__.py` calls `defer_unused_simple_salesforce_modules()`, so it runs before any module of the
package imports simple-salesforce.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

# Module -> the names other simple-salesforce modules import from it (`from .metadata import SfdcMetadataApi`).
DEFERRED: dict[str, tuple[str, ...]] = {
    "simple_salesforce.metadata": ("SfdcMetadataApi",),
    "simple_salesforce.login": ("SalesforceLogin",),
    "simple_salesforce.bulk": ("SFBulkHandler",),
    "simple_salesforce.bulk2": ("SFBulk2Handler",),
}

_lock = threading.RLock()


class DeferredModule(types.ModuleType):
    """Stands in `sys.modules` for a module not loaded yet; reading a name it does not hold loads the real one."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # import machinery probing (__path__, __file__...): no reason to load
            raise AttributeError(name)
        return getattr(load_real(self.__name__), name)


def load_real(name: str) -> types.ModuleType:
    """The real module `name`, imported now if only its stand-in is in `sys.modules`."""
    with _lock:
        module = sys.modules.get(name)
        if module is not None and not isinstance(module, DeferredModule):
            return module
        parent_name, _, child = name.rpartition(".")
        parent = importlib.import_module(parent_name)
        spec = importlib.machinery.PathFinder.find_spec(name, list(parent.__path__))
        if spec is None or spec.loader is None:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        real = importlib.util.module_from_spec(spec)
        sys.modules[name] = real
        try:
            spec.loader.exec_module(real)
        except BaseException:
            if module is not None:
                sys.modules[name] = module
            else:
                sys.modules.pop(name, None)
            raise
        setattr(parent, child, real)
        return real


def _on_first_call(module: str, name: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(load_real(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"`{module}.{name}`, imported on this first call."
    return call


def defer_unused_simple_salesforce_modules() -> None:
    """Register the stand-ins, unless simple-salesforce is already imported (its real modules are then loaded)."""
    with _lock:
        if "simple_salesforce" in sys.modules:
            return
        for module, names in DEFERRED.items():
            if module in sys.modules:
                continue
            stand_in = DeferredModule(module, f"Stand-in for {module}: loaded on first use (sfzsync.deferred_imports).")
            for name in names:
                setattr(stand_in, name, _on_first_call(module, name))
            sys.modules[module] = stand_in
