"""The resources object Dagster hands a step, an IO manager and a type check: its class made once per
set of resource keys instead of once per call.

Dagster's ``ScopedResourcesBuilder.build`` (``dagster/_core/definitions/scoped_resources_builder.py``)
returns the resources an op, an IO manager or a type check asked for as an instance of a class it
makes on every call: a ``namedtuple`` of the keys, then a subclass of it and of Dagster's ``Resources``
tag (and ``IContainsGenerator`` when a resource was yielded by a generator) whose
``original_resource_dict`` property closes over that call's dictionary. It is called for every step,
every input an IO manager loads, every output it stores and every type check: 376 times in a demo
run, each making two classes (``namedtuple`` compiles its ``__new__`` from source; the subclass goes
through ``ABCMeta``): ≈ 0.09 CPU-s of the main thread, ≈ 2 % of the main process's samples, against
≈ 0.013 with the classes made once (docs/performance.md, "Dagster's resources object without a new
class each time").

``resources_classes_made_once`` replaces the method with one that does what Dagster's does — the
same keys in the same order, the same values (a resource's ``get_object_to_set_on_execution_context``
where it has one), the same bases and class names, ``original_resource_dict`` the call's dictionary —
but takes the class from a table keyed by the keys in order and whether a resource was yielded by a
generator, and keeps the call's dictionary on the instance (the classes have no ``__slots__``:
Dagster's instances have a ``__dict__`` too). Called where the definitions are loaded
(pipelines/definitions.py), so every process that executes lianjian's steps has it.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Mapping

#: Where an instance keeps the dictionary its ``original_resource_dict`` returns.
_ORIGINAL = "_lianjian_original_resource_dict"

#: The classes made, by (resource keys in order, contains a generator). A run's steps ask for a few
#: distinct sets of keys (a step's ``lianjian`` and ``io_manager``, an IO manager's ``lianjian``, a
#: type check's none), so the table stays as small as the definitions' resources allow.
_CLASSES: dict[tuple[tuple[str, ...], bool], type] = {}


def _original_resource_dict(self) -> Mapping[str, object]:
    return self.__dict__[_ORIGINAL]


def resources_class(keys: tuple[str, ...], contains_generator: bool) -> type:
    """The class of a resources object of ``keys`` (in that order): Dagster's two shapes —
    ``_ScopedResources(namedtuple("_ScopedResources", keys), Resources)`` and, when a resource was
    yielded by a generator, ``_ScopedResourcesContainsGenerator(namedtuple(...), Resources,
    IContainsGenerator)`` — made the first time and given again after."""
    found = _CLASSES.get((keys, contains_generator))
    if found is not None:
        return found
    from dagster._core.definitions.scoped_resources_builder import IContainsGenerator, Resources

    name = "_ScopedResourcesContainsGenerator" if contains_generator else "_ScopedResources"
    bases = (namedtuple(name, keys), Resources, *((IContainsGenerator,) if contains_generator else ()))
    made = type(name, bases, {"original_resource_dict": property(_original_resource_dict), "__module__": __name__})
    return _CLASSES.setdefault((keys, contains_generator), made)  # two threads at once: one class kept


def build(builder, required_resource_keys):
    """``ScopedResourcesBuilder.build`` with its class from ``resources_class``: the resources of
    ``builder`` among ``required_resource_keys`` (None: none), as Dagster's method gives them."""
    import dagster._check as check
    from dagster._config.pythonic_config import IAttachDifferentObjectToOpContext

    required_resource_keys = check.opt_set_param(required_resource_keys, "required_resource_keys", of_type=str)
    # as Dagster's: the keys the builder has, in the order of the required set
    resource_instance_dict = {
        key: builder.resource_instance_dict[key] for key in required_resource_keys if key in builder.resource_instance_dict
    }
    attached = {
        k: v.get_object_to_set_on_execution_context() if isinstance(v, IAttachDifferentObjectToOpContext) else v
        for k, v in resource_instance_dict.items()
    }
    resources = resources_class(tuple(attached), bool(builder.contains_generator))(**attached)
    resources.__dict__[_ORIGINAL] = resource_instance_dict
    return resources


#: Dagster's own ``ScopedResourcesBuilder.build``, once ``resources_classes_made_once`` replaced it
#: (the tests compare what both give).
dagsters_build = None


def resources_classes_made_once() -> None:
    """Put ``build`` in place of ``ScopedResourcesBuilder.build`` (once: again is a no-op)."""
    global dagsters_build
    from dagster._core.definitions.scoped_resources_builder import ScopedResourcesBuilder

    if ScopedResourcesBuilder.build is not build:
        dagsters_build = ScopedResourcesBuilder.build
        ScopedResourcesBuilder.build = build
