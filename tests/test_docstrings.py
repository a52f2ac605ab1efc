"""Every public function, class and method of ``design/``, ``models/``, ``workloads/``,
``families/`` and the top-level API has a numpydoc docstring with its sections: a summary,
each parameter documented (and none that does not exist), and a ``Returns`` section where a
function returns something. Properties are documented as attributes: a summary suffices.
Checked with numpydoc's own validator on the imported objects."""

import importlib
import inspect
import pkgutil

import pytest
from numpydoc.validate import validate

import shiftadd

PACKAGES = ("shiftadd.design", "shiftadd.models", "shiftadd.workloads", "shiftadd.families")
CHECKS = {"GL08", "PR01", "PR02", "PR10", "RT01"}


def _modules():
    for name in PACKAGES:
        pkg = importlib.import_module(name)
        yield pkg
        for info in pkgutil.walk_packages(pkg.__path__, name + "."):
            yield importlib.import_module(info.name)


def _public_objects():
    """``(qualified name, object, is_property)`` of every public API object, once."""
    seen = set()
    entries = [
        (f"shiftadd.{n}", getattr(shiftadd, n))
        for n in shiftadd.__all__
        if callable(getattr(shiftadd, n))
        and not isinstance(getattr(shiftadd, n), type)
        or n in ("InputError", "ShiftaddError", "ToolError")
    ]
    for mod in _modules():
        for n in getattr(mod, "__all__", ()):
            obj = getattr(mod, n)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and getattr(
                obj, "__module__", ""
            ).startswith("shiftadd"):
                entries.append((f"{obj.__module__}.{obj.__qualname__}", obj))
    for name, obj in entries:
        if name in seen:
            continue
        seen.add(name)
        yield name, obj, False
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if (
                    isinstance(member, property)
                    or hasattr(member, "__set_name__")
                    and hasattr(member, "func")
                ):  # property, functools.cached_property
                    yield f"{name}.{attr}", member, True
                elif inspect.isfunction(member) or isinstance(member, (classmethod, staticmethod)):
                    yield f"{name}.{attr}", member, False


def _problems(name, obj, is_property):
    if is_property:
        doc = getattr(obj, "__doc__", None) or getattr(getattr(obj, "func", None), "__doc__", None)
        return [] if doc and doc.strip() else [("GL08", "no docstring")]
    try:
        result = validate(name)
    except (ImportError, AttributeError):
        # numpydoc resolves names by import; a class method of a nested name falls back to
        # the object's own docstring
        return [] if inspect.getdoc(obj) else [("GL08", "no docstring")]
    errors = [(code, msg) for code, msg in result["errors"] if code in CHECKS]
    if inspect.isclass(obj):
        errors = [(c, m) for c, m in errors if c != "RT01"]
    return errors


def test_public_api_has_numpydoc_sections():
    problems = []
    for name, obj, is_property in _public_objects():
        for code, msg in _problems(name, obj, is_property):
            problems.append(f"{name}: {code} {msg}")
    assert problems == [], f"{len(problems)} problems:\n" + "\n".join(problems[:60])


@pytest.mark.parametrize(
    "name",
    ["load_design", "simulate", "synthesize", "estimate", "gemm_cycles", "run_sweep", "write_rtl"],
)
def test_top_level_api_resolves(name):
    assert callable(getattr(shiftadd, name))
