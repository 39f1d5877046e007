"""interview-eval: draft interview scorecards backed by verbatim, located evidence."""

__version__ = "0.1.0"
