"""Every public class and function of mlpfast has a docstring example, and a
description of each of its parameters and attributes.

``pytest --doctest-modules --pyargs mlpfast`` runs the examples; these tests
make sure there is one to run for each name of ``mlpfast.__all__``, so a new
public function without an Examples section fails the docs stage.
"""
import inspect

import pytest
from numpydoc.docscrape import NumpyDocString

import mlpfast

PUBLIC_OBJECTS = [name for name in mlpfast.__all__ if not name.startswith("__")]


@pytest.mark.parametrize("name", PUBLIC_OBJECTS)
def test_public_object_has_a_runnable_example(name):
    docstring = inspect.getdoc(getattr(mlpfast, name)) or ""
    sections = docstring.split("\nExamples\n--------\n")

    assert len(sections) == 2, f"mlpfast.{name} has no 'Examples' section"
    assert ">>> " in sections[1], f"the Examples section of mlpfast.{name} has no doctest"



@pytest.mark.parametrize("name", PUBLIC_OBJECTS)
def test_every_parameter_and_attribute_is_described(name):
    docstring = NumpyDocString(inspect.getdoc(getattr(mlpfast, name)) or "")
    undescribed = [f"{section}: {entry.name}"
                   for section in ("Parameters", "Attributes")
                   for entry in docstring[section]
                   if not "".join(entry.desc).strip()]

    assert not undescribed, f"mlpfast.{name} documents without a description: {undescribed}"
