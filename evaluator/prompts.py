"""Prompt templates: files in `prompts/` with a version, rendered with `$placeholders`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from string import Template

from evaluator.errors import EvalError


@dataclass(frozen=True)
class Prompt:
    """One prompt file: id, version, and its system and user templates."""

    id: str
    version: str
    system: str
    user: str

    def render(self, **values: str) -> list[dict]:
        """Chat messages with every placeholder filled (a missing value is an error, not a blank)."""
        try:
            msgs = []
            if self.system:
                msgs.append({"role": "system", "content": Template(self.system).substitute(values)})
            msgs.append({"role": "user", "content": Template(self.user).substitute(values)})
            return msgs
        except KeyError as exc:
            raise EvalError(f"prompt {self.id} v{self.version}: no value for placeholder ${exc.args[0]}",
                            hint="this is a bug in the caller; please report it") from None

    def text(self, **values: str) -> str:
        """The user section alone, rendered (for fragments appended to another prompt)."""
        return Template(self.user).substitute(values).strip()


@lru_cache(maxsize=None)
def load_prompt(name: str) -> Prompt:
    """Load `prompts/<name>.md` (front matter + `## system` / `## user` sections)."""
    from evaluator.resources import prompts_dir

    path = prompts_dir() / f"{name}.md"
    if not path.is_file():
        raise EvalError(f"{path}: prompt file missing", hint="reinstall interview-eval; prompts/ ships with it")
    raw = path.read_text(encoding="utf-8")
    m = re.match(r"^---\n(.*?)\n---\n(.*)$", raw, re.S)
    if not m:
        raise EvalError(f"{path}: no front matter", hint="start the file with ---, id:, version:, ---")
    import yaml

    from evaluator.files import yaml_loader

    meta = yaml.load(m.group(1), Loader=yaml_loader()) or {}
    sections = dict(re.findall(r"^## (system|user)\n(.*?)(?=^## (?:system|user)\n|\Z)", m.group(2), re.S | re.M))
    if "version" not in meta or "user" not in sections:
        raise EvalError(f"{path}: needs a version in the front matter and a '## user' section")
    return Prompt(id=str(meta.get("id", name)), version=str(meta["version"]),
                  system=sections.get("system", "").strip(), user=sections["user"].strip() + "\n")
