"""Bar charts as inline SVG, drawn on the server: no script, no library, printable.

Every piece of text (labels, values, titles) is escaped with markupsafe, so a product
named ``<script>`` draws as text. Each bar is a ``<rect class="bar">`` carrying its
label and value as ``data-`` attributes (the value a plain decimal, for machines and
tests) and a ``<title>`` that browsers show on hover (the value as the workspace's locale
writes it, as are the axis' ticks). Values may be negative (a loss): those bars hang
below the zero line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from decimal import Decimal

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 16, 88
MAX_X_LABELS = 16
LABEL_CHARS = 18


def _nice_step(span: float, count: int) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about ``count`` ticks."""
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * magnitude:
            return multiple * magnitude
    return 10 * magnitude


def _plain(value: Decimal) -> str:
    """A number grouped as English writes it, without trailing zeros (a chart drawn
    without a locale)."""
    text = f"{value:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _tick_text(value: float, number: Callable[[Decimal], str]) -> str:
    size = abs(value)
    if size >= 1_000_000:
        return number(Decimal(f"{value / 1_000_000:g}")) + "M"
    if size >= 10_000:
        return number(Decimal(f"{value / 1_000:g}")) + "k"
    return number(Decimal(f"{value:.2f}"))


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def _f(number: float) -> str:
    return f"{number:.1f}"


def bar_chart(
    labels: Sequence[str],
    values: Sequence[Decimal],
    *,
    title: str,
    width: int = WIDTH,
    height: int = HEIGHT,
    number: Callable[[Decimal], str] = _plain,
    value_text: Callable[[Decimal], str] = str,
) -> Markup:
    """An ``<svg>`` bar chart of ``values`` (one bar per label, in order), labelled for
    screen readers as ``title`` (its ``aria-label``), with a y axis of round ticks and
    the labels under the bars (every n-th when there are many; each bar's title has
    its full label and value). ``number`` writes the ticks and ``value_text`` the values
    in the bars' titles, as people read them: on a page, the workspace's
    ``Local.number`` and ``Local.money``."""
    labels = [str(label) for label in labels]
    values = list(values)
    if len(labels) != len(values):
        raise ValueError(f"{len(labels)} labels for {len(values)} values")
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {width} {height}" preserveAspectRatio="xMidYMid meet" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    if not values:
        parts.append(
            f'<text class="empty" x="{width / 2}" y="{height / 2}" text-anchor="middle">'
            "Nothing to chart for these filters.</text></svg>"
        )
        return Markup("".join(parts))

    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    numbers = [float(value) for value in values]
    low, high = min(0.0, *numbers), max(0.0, *numbers)
    if high == low:  # all zero: an empty axis from 0 to 1
        high = low + 1
    step = _nice_step(high - low, 4)
    low, high = math.floor(low / step) * step, math.ceil(high / step) * step

    def y(number: float) -> float:
        return TOP + (high - number) / (high - low) * plot_h

    ticks = round((high - low) / step)
    for n in range(ticks + 1):
        tick = low + n * step
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot_w}" '
            f'y1="{_f(y(tick))}" y2="{_f(y(tick))}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{_f(y(tick) + 4)}" text-anchor="end">'
            f"{escape(_tick_text(tick, number))}</text>"
        )

    slot = plot_w / len(values)
    bar_w = max(1.0, slot * 0.7)
    every = math.ceil(len(values) / MAX_X_LABELS)
    zero = y(0)
    for i, (label, value, number) in enumerate(zip(labels, values, numbers, strict=True)):
        x = LEFT + i * slot + (slot - bar_w) / 2
        top = min(y(number), zero)
        css = "bar neg" if number < 0 else "bar"
        parts.append(
            f'<rect class="{css}" x="{_f(x)}" y="{_f(top)}" width="{_f(bar_w)}" '
            f'height="{_f(abs(y(number) - zero))}" data-label="{escape(label)}" '
            f'data-value="{escape(str(value))}"><title>{escape(label)}: '
            f"{escape(value_text(value))}</title></rect>"
        )
        if i % every == 0:
            cx, cy = x + bar_w / 2, TOP + plot_h + 12
            parts.append(
                f'<text class="label" x="{_f(cx)}" y="{_f(cy)}" text-anchor="end" '
                f'transform="rotate(-40 {_f(cx)} {_f(cy)})">{escape(_short(label))}</text>'
            )
    parts.append(
        f'<line class="axis" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{_f(zero)}" y2="{_f(zero)}"/>'
        f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}"/>'
        "</svg>"
    )
    return Markup("".join(parts))
