"""Make mediapipe 0.10.14's Python layer run on the protobuf runtime this project uses.

mediapipe 0.10.14 (the last release that ships the pose landmark model inside its wheel) was
written against protobuf 4.x. The project's environment has a newer protobuf (dagster and
grpcio bring it), whose Python API dropped two things mediapipe's *Python* glue calls:

* ``SymbolDatabase.GetPrototype`` (used by ``mediapipe.python.packet_getter`` to turn output
  packets into messages) -> replaced by ``message_factory.GetMessageClass``;
* ``FieldDescriptor.label`` (used by ``SolutionBase._modify_calculator_options`` to tell
  repeated option fields apart) -> replaced by ``FieldDescriptor.is_repeated``.

Both patches are no-ops on a protobuf that still has the old API. Nothing else changes: the
C++ graph, the models and their outputs are mediapipe's own. (Importing mediapipe prints
"'MessageFactory' object has no attribute 'GetPrototype'" once from its C++ bindings; it
is harmless, the bindings fall back and the pose graph runs.)

``_modify_calculator_options`` below is adapted from mediapipe/python/solution_base.py
(Copyright 2020-2021 The MediaPipe Authors, Apache License 2.0); the only change is the
repeated-field test.
"""

from __future__ import annotations

from collections.abc import Iterable

_PATCHED = False


def _is_repeated(field_descriptor) -> bool:
    rep = getattr(field_descriptor, "is_repeated", None)
    if rep is not None:
        return bool(rep)
    from google.protobuf import descriptor

    return field_descriptor.label == descriptor.FieldDescriptor.LABEL_REPEATED


def _modify_calculator_options(self, calculator_graph_config, calculator_params) -> None:
    from mediapipe.python.solution_base import CALCULATOR_TO_OPTIONS

    nested: dict[str, list] = {}
    for compound_name, field_value in calculator_params.items():
        parts = compound_name.split(".")
        if len(parts) != 2:
            raise ValueError(f'The key "{compound_name}" in the calculator_params is invalid.')
        nested.setdefault(parts[0], []).append((parts[1], field_value))

    def modify_options_fields(calculator_options, options_field_list):
        for field_name, field_value in options_field_list:
            if field_value is None:
                calculator_options.ClearField(field_name)
            elif _is_repeated(calculator_options.DESCRIPTOR.fields_by_name[field_name]):
                if not isinstance(field_value, Iterable):
                    raise ValueError(
                        f"{field_name} is a repeated proto field but the value "
                        f"to be set is {type(field_value)}, which is not iterable.")
                calculator_options.ClearField(field_name)
                for elem in field_value:
                    getattr(calculator_options, field_name).append(elem)
            else:
                setattr(calculator_options, field_name, field_value)

    num_modified = 0
    for node in calculator_graph_config.node:
        if node.name not in nested:
            continue
        options_type = CALCULATOR_TO_OPTIONS.get(node.calculator)
        if options_type is None:
            raise ValueError(f"Modifying the calculator options of {node.name} is not supported.")
        fields = nested[node.name]
        if node.HasField("options") and node.node_options:
            raise ValueError(
                f"Cannot modify the calculator options of {node.name} because it "
                f"has both options and node_options fields.")
        if node.node_options:
            modified = False
            for elem in node.node_options:
                if elem.type_url.split("/")[-1] == options_type.DESCRIPTOR.full_name:
                    opts = options_type.FromString(elem.value)
                    modify_options_fields(opts, fields)
                    elem.value = opts.SerializeToString()
                    modified = True
                    break
            if not modified:
                opts = options_type()
                modify_options_fields(opts, fields)
                node.node_options.add().Pack(opts)
        else:
            modify_options_fields(node.options.Extensions[options_type.ext], fields)
        num_modified += 1
        if num_modified == len(nested):
            break
    if num_modified < len(nested):
        raise ValueError("Not all calculator params are valid.")


class _SymbolDatabaseShim:
    """Just what packet_getter uses: ``Default().pool`` and ``Default().GetPrototype``."""

    def __init__(self, db):
        self._db = db
        self.pool = db.pool

    def GetPrototype(self, desc):  # noqa: N802 - mediapipe's spelling
        from google.protobuf import message_factory

        return message_factory.GetMessageClass(desc)


class _SymbolDatabaseModuleShim:
    def __init__(self, db):
        self._shim = _SymbolDatabaseShim(db)

    def Default(self):  # noqa: N802
        return self._shim


def patch_mediapipe() -> None:
    """Idempotent; call after ``import mediapipe`` and before building a solution."""
    global _PATCHED
    if _PATCHED:
        return
    from google.protobuf import descriptor, symbol_database
    from mediapipe.python import packet_getter, solution_base

    db = symbol_database.Default()
    if not hasattr(db, "GetPrototype"):
        packet_getter.symbol_database = _SymbolDatabaseModuleShim(db)
    if not hasattr(descriptor.FieldDescriptor, "label"):
        solution_base.SolutionBase._modify_calculator_options = _modify_calculator_options
    _PATCHED = True
