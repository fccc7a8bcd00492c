"""The shipped starting `config.yaml`, as package data: the demo's config when the working folder
has none, and what `sheets-kpi init-config` writes. The repository's own `config.yaml` is a copy
of it (a test keeps the two the same)."""

from __future__ import annotations

from importlib.resources import files

#: The file's name, in the package and where `init-config` writes it by default.
CONFIG_NAME = "config.yaml"


def config_text() -> str:
    """The commented starting config, as shipped in the installed package."""
    return files(__name__).joinpath(CONFIG_NAME).read_text(encoding="utf-8")
