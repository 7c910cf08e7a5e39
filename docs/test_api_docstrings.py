"""Every public class and function of mlpfast has a docstring example.

``pytest --doctest-modules --pyargs mlpfast`` runs the examples; this test
makes sure there is one to run for each name of ``mlpfast.__all__``, so a new
public function without an Examples section fails the docs stage.
"""
import inspect

import pytest

import mlpfast

PUBLIC_OBJECTS = [name for name in mlpfast.__all__ if not name.startswith("__")]


@pytest.mark.parametrize("name", PUBLIC_OBJECTS)
def test_public_object_has_a_runnable_example(name):
    docstring = inspect.getdoc(getattr(mlpfast, name)) or ""
    sections = docstring.split("\nExamples\n--------\n")

    assert len(sections) == 2, f"mlpfast.{name} has no 'Examples' section"
    assert ">>> " in sections[1], f"the Examples section of mlpfast.{name} has no doctest"

