"""A self-contained HTML report: one file, images inline, opens from disk.

>>> import pandas as pd
>>> report = Report("stockcast demo")
>>> _ = report.section("Backtest", "The networks against the baselines, by segment.")
>>> _ = report.table(pd.DataFrame({"model": ["tft"], "wape": [0.41]}))
>>> _ = report.image(b"(PNG bytes)", caption="fan charts")   # PNG bytes or a file
>>> page = report.html()
>>> page.count("<section"), page.count('src="data:image/png;base64,')
(1, 1)

Sections are numbered in a table of contents; every figure is a ``data:image/png`` URI, so the
file can be mailed or opened offline. :meth:`Report.write` writes it atomically.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from kernels.io import atomic_write

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1 { border-bottom: 2px solid #444; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.8rem 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5rem 0; }
.note { color: #555; } .flag { color: #b00; font-weight: 600; } nav li { margin: 2px 0; }
figure { margin: 1rem 0; } figcaption { color: #555; font-size: 0.85rem; }
"""


@dataclass
class _Section:
    title: str
    anchor: str
    parts: list[str] = field(default_factory=list)


class Report:
    """Sections of text, tables and inline images, written as one HTML file."""

    def __init__(self, title: str, subtitle: str = ""):
        self.title = title
        self.subtitle = subtitle
        self.sections: list[_Section] = []

    def section(self, title: str, text: str = "") -> Report:
        """Start a section; ``text`` is a paragraph (plain text, escaped)."""
        anchor = f"s{len(self.sections) + 1}"
        self.sections.append(_Section(title, anchor))
        if text:
            self.text(text)
        return self

    def _current(self) -> _Section:
        if not self.sections:
            raise ValueError("report: start a section before adding to it")
        return self.sections[-1]

    def text(self, text: str, css: str = "") -> Report:
        klass = f' class="{css}"' if css else ""
        self._current().parts.append(f"<p{klass}>{html.escape(text)}</p>")
        return self

    def table(self, frame: pd.DataFrame, caption: str = "", digits: int = 3) -> Report:
        """A table (numbers rounded to ``digits``); the index is kept when it is named or holds
        labels (text), such as the metric names of a summary table."""
        shown = frame.round(digits) if len(frame) else frame
        index = any(name is not None for name in frame.index.names) or not (
            pd.api.types.is_numeric_dtype(frame.index.dtype)
        )
        # Fixed decimals: pandas' default switches a whole column (and, past 1e6, the table) to
        # scientific notation, 0.8195 as 8.190000e-01 beside 1.9 million units, and past 1e7
        # drops a count's last digits.
        body = shown.to_html(
            index=index, border=0, na_rep="", escape=True, float_format=f"{{:.{digits}f}}".format
        )
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        self._current().parts.append(f"<figure>{body}{cap}</figure>")
        return self

    def image(self, source: str | Path | bytes, caption: str = "", alt: str = "") -> Report:
        """A PNG (path or bytes) embedded as a data URI."""
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        uri = "data:image/png;base64," + base64.b64encode(data).decode()
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        alt_text = html.escape(alt or caption or "figure")
        self._current().parts.append(f'<figure><img src="{uri}" alt="{alt_text}">{cap}</figure>')
        return self

    def html(self) -> str:
        toc = "".join(
            f'<li><a href="#{s.anchor}">{html.escape(s.title)}</a></li>' for s in self.sections
        )
        body = "".join(
            f'<section id="{s.anchor}"><h2>{html.escape(s.title)}</h2>{"".join(s.parts)}</section>'
            for s in self.sections
        )
        subtitle = f'<p class="note">{html.escape(self.subtitle)}</p>' if self.subtitle else ""
        return (
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{html.escape(self.title)}</h1>{subtitle}<nav><ol>{toc}</ol></nav>{body}"
            f"</body></html>"
        )

    def write(self, path: str | Path) -> Path:
        """Write the report atomically."""
        text = self.html()
        return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))
