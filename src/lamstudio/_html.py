"""One way to write lamstudio's HTML reports: Jinja templates under
``templates/report/`` that extend one ``base.html.j2``, autoescaped, written atomically.
Charts come from :mod:`lamstudio._charts` and are passed in as ``Markup``."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from lamstudio.io import atomic_path


@functools.cache
def _env() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(loader=PackageLoader("lamstudio", "templates/report"),
                       autoescape=select_autoescape(default=True, default_for_string=True))


def render_page(template: str, **context: Any) -> str:
    """Render ``templates/report/<template>``; every string from the data is escaped."""
    return _env().get_template(template).render(**context)


def write_page(path: str | Path, template: str, **context: Any) -> Path:
    """Render and write atomically: an interrupted run leaves no complete-looking page."""
    text = render_page(template, **context)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def svg(markup: str) -> Any:
    """A chart string from :mod:`lamstudio._charts`, marked safe for the template."""
    from markupsafe import Markup

    return Markup(markup)
