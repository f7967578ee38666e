"""Dagster's resources object of a step, an IO manager or a type check: the same object as Dagster's
own ``ScopedResourcesBuilder.build`` gives, of a class made once per set of keys
(pipelines/step_resources.py)."""

from __future__ import annotations

import dagster as dg
import pytest
from dagster._config.pythonic_config import IAttachDifferentObjectToOpContext
from dagster._core.definitions.scoped_resources_builder import IContainsGenerator, Resources, ScopedResourcesBuilder
from dagster._core.errors import DagsterUnknownResourceError

import pipelines.definitions  # noqa: F401 - puts the replacement in place, as every run's process does
from pipelines import step_resources


class _Attached(IAttachDifferentObjectToOpContext):
    def get_object_to_set_on_execution_context(self):
        return "what the context gets"


def _shape(resources) -> tuple:
    return (
        type(resources).__name__,
        resources._fields,
        tuple(resources),
        isinstance(resources, Resources),
        isinstance(resources, IContainsGenerator),
        dict(resources.original_resource_dict),
        resources._asdict(),
    )


def test_the_definitions_put_the_replacement_in_place():
    assert ScopedResourcesBuilder.build is step_resources.build
    assert step_resources.dagsters_build is not None and step_resources.dagsters_build is not step_resources.build
    step_resources.resources_classes_made_once()  # again: Dagster's own method stays the one kept
    assert step_resources.dagsters_build.__module__ == "dagster._core.definitions.scoped_resources_builder"


@pytest.mark.parametrize("generator", [False, True])
@pytest.mark.parametrize("keys", [None, set(), {"a"}, {"a", "b", "attached"}, {"a", "not_there"}])
def test_the_same_resources_object_as_dagsters_own(keys, generator):
    attached = _Attached()
    builder = ScopedResourcesBuilder({"a": 1, "b": [2], "attached": attached}, contains_generator=generator)
    ours, theirs = step_resources.build(builder, keys), step_resources.dagsters_build(builder, keys)
    assert _shape(ours) == _shape(theirs)
    assert ours == theirs
    if keys and "attached" in keys:
        assert ours.attached == "what the context gets" and ours.original_resource_dict["attached"] is attached
    with pytest.raises(DagsterUnknownResourceError):
        ours.not_there  # noqa: B018 - Resources' own error for a key not asked for


def test_a_class_is_made_once_per_keys_and_kind():
    """Dagster's own method makes a new class at every call (the cost this replaces)."""
    builder = ScopedResourcesBuilder({"a": 1, "b": 2})
    first, second = builder.build({"a", "b"}), builder.build({"a", "b"})
    assert type(first) is type(second)
    assert type(step_resources.dagsters_build(builder, {"a"})) is not type(step_resources.dagsters_build(builder, {"a"}))
    other = ScopedResourcesBuilder({"a": 3, "b": 4}).build({"a", "b"})
    assert type(other) is type(first) and other.original_resource_dict == {"a": 3, "b": 4}
    assert first.original_resource_dict == {"a": 1, "b": 2}  # each object keeps its own dictionary
    generated = ScopedResourcesBuilder({"a": 1, "b": 2}, contains_generator=True).build({"a", "b"})
    assert type(generated) is not type(first) and isinstance(generated, IContainsGenerator)


def test_a_run_gives_steps_and_io_managers_their_resources():
    """An in-process run: an op, an IO manager and a generator resource get what they asked for."""
    seen = {}

    @dg.resource
    def yielded(_):
        yield "from a generator"

    class Memory(dg.IOManager):
        def __init__(self):
            self.values = {}

        def handle_output(self, context, obj):
            seen["io"] = context.resources.settings
            self.values[context.step_key] = obj

        def load_input(self, context):
            return self.values[context.upstream_output.step_key]

    memory = Memory()

    @dg.io_manager(required_resource_keys={"settings"})
    def manager(_):
        return memory

    @dg.op(required_resource_keys={"settings", "gen"})
    def first(context):
        seen["op"] = (context.resources.settings, context.resources.gen)
        return 1

    @dg.op
    def second(value):
        return value + 1

    @dg.job(resource_defs={"settings": dg.ResourceDefinition.hardcoded_resource("s"), "gen": yielded, "io_manager": manager})
    def job():
        second(first())

    result = job.execute_in_process()
    assert result.success and result.output_for_node("second") == 2
    assert seen == {"op": ("s", "from a generator"), "io": "s"}
