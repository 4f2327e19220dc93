"""streams/records.py ``decode_command``: a command whose fields are all there with their
exact types is built without Faust's per-field machinery, and every command, of any
shape, decodes to what Faust's ``from_data`` makes of it, or is refused as Faust
refuses it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.records import COMMANDS, CommandBatch, ListProduct, decode_command

PLAIN = [cls for cls in COMMANDS.values() if cls not in (CommandBatch, ListProduct)]
EXAMPLE = {int: 7, float: 1796229284.25, str: "o-1", bool: True}

any_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.sampled_from(["5", "5.5", "true"]),
)


def _faust(cls: Any, data: dict[str, Any]) -> Any:
    return cls.from_data(dict(data))


def _example(cls: Any) -> dict[str, Any]:
    data = {name: EXAMPLE[d.type] for name, d in cls._options.descriptors.items()}
    data["kind"] = cls.__name__
    return data


@pytest.mark.parametrize("cls", PLAIN, ids=lambda c: c.__name__)
def test_a_well_typed_command_is_the_record_faust_makes(cls: Any) -> None:
    data = _example(cls)
    decoded = decode_command(data)
    assert type(decoded) is cls
    assert decoded.__dict__ == _faust(cls, data).__dict__
    assert decoded == _faust(cls, data)
    assert decoded.to_representation() == _faust(cls, data).to_representation()


@pytest.mark.parametrize("cls", PLAIN, ids=lambda c: c.__name__)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_command_decodes_as_faust_decodes_it(cls: Any, data: st.DataObject) -> None:
    command = _example(cls)
    for name in data.draw(st.sets(st.sampled_from(sorted(command)))):
        if name != "kind":
            command[name] = data.draw(any_value)
    if data.draw(st.booleans()):
        command.pop(data.draw(st.sampled_from(sorted(command))))
    if data.draw(st.booleans()):
        command["extra"] = data.draw(any_value)
    command.setdefault("kind", cls.__name__)
    try:
        expected = _faust(cls, command)
    except Exception as refused:
        with pytest.raises(type(refused)):
            decode_command(command)
        return
    decoded = decode_command(command)
    assert type(decoded) is cls
    assert decoded.__dict__ == expected.__dict__
