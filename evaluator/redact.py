"""Redact contact details and names before text leaves the machine, and map quotes back."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(\.[\w-]+)+\b")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"]+|\b[\w-]+\.(?:com|org|net|io|ai|co|edu|gov)(?:/[^\s<>\"]*)?\b", re.I)
_PHONE = re.compile(r"(?<!\w)(?:\+?\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)|\d{2,4})[\s.-]\d{3,4}[\s.-]\d{3,4}(?!\w)")


class Redactor:
    """Replaces e-mail addresses, phone numbers, URLs and the given names with stable placeholders,
    and restores them in text that comes back (so quotes can be verified against the transcript)."""

    def __init__(self, names: list[str] | None = None):
        self.forward: dict[str, str] = {}
        self.back: dict[str, str] = {}
        self._names: list[tuple[re.Pattern, str]] = []
        parts: list[str] = []
        for n, full in enumerate(sorted({x.strip() for x in names or [] if x and x.strip()}, key=len, reverse=True), 1):
            tag = f"[PERSON_{n}]"
            parts.append((full, tag))
            # first and last names alone too ("Marcus", "Lee")
            for piece in full.split():
                if len(piece) > 2:
                    parts.append((piece, tag))
        for text, tag in parts:
            self._names.append((re.compile(rf"\b{re.escape(text)}\b", re.I), tag))

    def _sub(self, rx: re.Pattern, kind: str, text: str) -> str:
        def repl(m: re.Match) -> str:
            value = m.group(0)
            if value not in self.forward:
                tag = f"[{kind}_{sum(1 for t in self.back if t.startswith('[' + kind)) + 1}]"
                self.forward[value] = tag
                self.back[tag] = value
            return self.forward[value]

        return rx.sub(repl, text)

    def redact(self, text: str) -> str:
        """Text with contact details and names replaced by placeholders."""
        text = self._sub(_EMAIL, "EMAIL", text)
        text = self._sub(_URL, "URL", text)
        text = self._sub(_PHONE, "PHONE", text)
        for rx, tag in self._names:
            def repl(m: re.Match, tag=tag) -> str:
                self.back.setdefault(tag, m.group(0))
                return tag
            text = rx.sub(repl, text)
        return text

    def restore(self, text: str) -> str:
        """Placeholders back to the original values (names to their first recorded spelling)."""
        for tag, value in self.back.items():
            text = text.replace(tag, value)
        return text
