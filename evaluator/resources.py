"""Where bundled data lives: installed package data, or the source checkout."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The bundled `prompts/` or `rubrics/` folder, installed or in a source checkout."""
    installed = _PKG / "_data" / name
    if installed.is_dir():
        return installed
    return _PKG.parent / name


def rubrics_dir() -> Path:
    """Folder of the bundled interview guides (YAML)."""
    return data_dir("rubrics")


def prompts_dir() -> Path:
    """Folder of the prompt templates."""
    return data_dir("prompts")
