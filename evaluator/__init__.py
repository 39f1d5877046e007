"""interview-eval: draft interview scorecards backed by verbatim, located evidence."""

__version__ = "0.1.0"


def lazy_attributes(package: str, where: dict[str, str]):
    """A module `__getattr__` (PEP 562) for `package`: each name in `where` is imported on first use from the
    module named there (".name" is a submodule of `package`), so importing the package imports none of them."""
    def __getattr__(name: str):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        import importlib

        return getattr(importlib.import_module(where[name], package), name)
    return __getattr__
