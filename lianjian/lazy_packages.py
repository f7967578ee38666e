"""Packages imported lazily: a package's ``__init__`` run without the ``from … import`` statements
whose names nothing else in it reads, each such name imported from its submodule at its first use
(PEP 562: the module's ``__getattr__``), so ``from pkg import Name``, a class base and ``pkg.Name`` get
the real object.

For packages whose ``__init__`` imports a whole family of submodules that a process mostly never uses:
Great Expectations' packages of expectation, data source, renderer and metric classes in the suite
worker (lianjian/quality/suites.py ``LAZY_PACKAGES``), Dagster's daemons in the process of a run
(lianjian/runner.py). A submodule imported by name (``from pkg.sub import Name``) is imported as usual.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path


class LazyPackageLoader(importlib.abc.Loader):
    """Executes a package's ``__init__`` (``module``) without its lazy imports (``lazy``: each name they
    bind → the module it comes from and its name there), which the package's ``__getattr__`` imports
    at the first look-up of the name and binds in the package for later ones."""

    def __init__(self, code, lazy: dict[str, tuple[str, str]]) -> None:
        self.code, self.lazy = code, lazy

    def create_module(self, spec):  # the usual module object
        return None

    def exec_module(self, module) -> None:
        lazy = self.lazy

        def __getattr__(name: str):
            found = lazy.get(name)
            if found is None:
                raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")
            value = getattr(importlib.import_module(found[0]), found[1])
            setattr(module, name, value)
            return value

        def __dir__() -> list[str]:
            return sorted({*vars(module), *lazy})

        module.__getattr__, module.__dir__ = __getattr__, __dir__
        exec(self.code, vars(module))


class LazyPackageFinder(importlib.abc.MetaPathFinder):
    """Finds each of ``names`` where the import system would and gives it a ``LazyPackageLoader``:
    a ``from M import a as b`` of its ``__init__`` (not ``*``, not ``__future__``) is lazy when no other
    statement of it reads or binds ``b`` (``BatchDefinition.update_forward_refs(DataAsset=DataAsset)``
    in GX's fluent package keeps ``DataAsset``'s import, and the call runs as before); every other
    statement runs in order as written. A package whose ``__init__`` has no lazy import, or defines
    its own ``__getattr__`` or ``__dir__``, is imported as usual."""

    def __init__(self, names) -> None:
        self.names = frozenset(names)

    def find_spec(self, name, path, target=None):  # what it imports is imported with this module: it finds every import
        if name not in self.names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or not spec.submodule_search_locations or not str(spec.origin).endswith("__init__.py"):
            return None
        tree = ast.parse(Path(spec.origin).read_bytes(), spec.origin)
        rest = [s for s in tree.body if not lazy_import_statement(s)]
        named = {n.id for s in rest for n in ast.walk(s) if isinstance(n, ast.Name)}
        named |= {n.name for s in rest for n in ast.walk(s) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        if {"__getattr__", "__dir__"} & named:
            return None
        lazy: dict[str, tuple[str, str]] = {}
        body = []
        for s in tree.body:
            bound = [a.asname or a.name for a in s.names] if lazy_import_statement(s) else None
            if bound is None or named.intersection(bound):
                body.append(s)
                continue
            origin = importlib.util.resolve_name("." * s.level + (s.module or ""), name) if s.level else s.module
            lazy.update({a.asname or a.name: (origin, a.name) for a in s.names})
        if not lazy:
            return None
        tree.body = body
        code = compile(tree, spec.origin, "exec", dont_inherit=True)
        return importlib.util.spec_from_file_location(
            name, spec.origin, loader=LazyPackageLoader(code, lazy), submodule_search_locations=spec.submodule_search_locations
        )


def lazy_import_statement(statement) -> bool:
    """Whether a statement of a package's ``__init__`` may be a lazy import (``LazyPackageFinder``)."""
    return (
        isinstance(statement, ast.ImportFrom)
        and statement.module != "__future__"
        and all(a.name != "*" for a in statement.names)
    )


def lazy_loader(name: str) -> LazyPackageLoader | None:
    """The loader of the package ``name`` when it was imported as a lazy package, else None."""
    loader = getattr(getattr(sys.modules.get(name), "__spec__", None), "loader", None)
    return loader if isinstance(loader, LazyPackageLoader) else None


def complete_lazy_package(name: str) -> None:
    """Import every name the package ``name`` left to its first use (imported as a lazy package): the
    package is then as its own ``__init__`` makes it (a class registered where its creation registers
    it)."""
    if (loader := lazy_loader(name)) is not None:
        module = sys.modules[name]
        for attr in loader.lazy:
            getattr(module, attr)


@contextlib.contextmanager
def imported_lazily(names) -> Iterator[None]:
    """While the block runs, each package of ``names`` that is imported is imported as a lazy package
    (``LazyPackageFinder``); it stays one in ``sys.modules`` after the block. A package imported
    before the block is left as it is."""
    finder = LazyPackageFinder(names)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
