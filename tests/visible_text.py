"""What a reader of a page sees or hears: its text nodes and its spoken attributes.

Scripts and styles are not read; a `<script type="application/json" id=...>` block
(the words a page hands its script) is kept apart, by id, for tests to look into.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any


class VisibleText(HTMLParser):
    SPOKEN = {"alt", "title", "aria-label", "placeholder"}

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.json_blocks: dict[str, str] = {}
        self._skip = 0
        self._block: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
            named = dict(attrs)
            if named.get("type") == "application/json" and named.get("id"):
                self._block = named["id"]
        self.texts += [value.strip() for name, value in attrs if name in self.SPOKEN and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1
            self._block = None

    def handle_data(self, data: str) -> None:
        if self._block is not None:
            self.json_blocks[self._block] = data
        elif not self._skip and data.strip():
            self.texts.append(data.strip())

    def json_block(self, block_id: str) -> Any:
        """The JSON a page hands its script under `block_id` ({} when there is none)."""
        raw = self.json_blocks.get(block_id)
        return json.loads(raw) if raw else {}


def visible_text(html: str) -> VisibleText:
    parser = VisibleText()
    parser.feed(html)
    return parser


def page_text(html: str) -> str:
    """A page's (or a fragment's) visible text as one string, one space between nodes."""
    return " ".join(visible_text(html).texts)
