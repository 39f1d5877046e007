"""HTML pages from the Jinja2 templates in `templates/`: autoescaped (transcript text is data, so a `<script>`
or a `{{ ... }}` in a quote is shown as written), self-contained (inline CSS, no scripts, no external assets)
and printable. Jinja2 is imported on first use, so Markdown output and `--help` never load it."""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=1)
def environment():
    """The one Jinja2 environment: the package's templates, autoescape on, undefined names are errors."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    from evaluator.coach.rules import category_name

    env = Environment(loader=PackageLoader("evaluator.render", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["squash"] = lambda text: " ".join(str(text).split())
    env.globals["category_name"] = category_name
    return env


def page(template: str, **context) -> str:
    """Render one page template; every value is escaped unless it is `markupsafe.Markup`."""
    return environment().get_template(template).render(**context)
