"""Task families, one module each. Importing this package imports every module in it, and
so registers every task: a new family is a new module here, and nothing else to list."""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
