"""Moved to `evaluator.render`. Only the names the web app's branch imports from here stay, until it imports
them from `evaluator.render`; nothing else may use this module."""

from evaluator.render import markdown_to_html, render_coverage_markdown, render_scorecard_html  # noqa: F401
