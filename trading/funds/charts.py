"""Charts drawn as SVG on the server (no JavaScript), as pure functions returning markup.

Every chart carries a <title> and a <desc> that say in words what it shows, and a table of the same
figures sits beside it on the page, so nothing depends on seeing the picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from xml.sax.saxutils import escape as _escape

from trading.xmltext import xml_text

PALETTE = ("#1f5fa8", "#d9822b", "#3c8d5a", "#a23b72", "#6b5ca5", "#8c6d31", "#c0392b", "#4a4a4a")


def wan(fen: int) -> str:
    """An amount in 万元 with two decimals (the unit public finance pages use)."""
    return f"{fen / 1_000_000:,.2f}"


def escape(value: str, entities: dict[str, str] | None = None) -> str:
    """*value* as XML text: markup escaped, and any character XML cannot carry (an old project name's) replaced."""
    return _escape(xml_text(value), entities or {})


def _attr(value: str) -> str:
    return escape(value, {'"': "&quot;"})


def bar_chart(items: Sequence[tuple[str, int]], *, title: str, width: int = 640, bar_height: int = 26) -> str:
    """Horizontal bars, one per (label, amount in fen), scaled to the largest; amounts shown in 万元."""
    top, left, right = 36, 150, 110
    height = top + max(len(items), 1) * (bar_height + 10) + 10
    largest = max((v for _, v in items), default=0) or 1
    span = width - left - right
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-labelledby="t d" class="chart">',
        f'<title id="t">{escape(title)}</title>',
        '<desc id="d">' + escape("；".join(f"{label}：{wan(v)} 万元" for label, v in items) or "无数据") + "</desc>",
        f'<text x="0" y="20" class="chart-title" font-size="15">{escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(items):
        y = top + i * (bar_height + 10)
        length = round(span * max(value, 0) / largest)
        colour = PALETTE[i % len(PALETTE)]
        parts += [
            f'<text x="{left - 8}" y="{y + bar_height * 0.7:.0f}" text-anchor="end" font-size="13">'
            f"{escape(label)}</text>",
            f'<rect x="{left}" y="{y}" width="{length}" height="{bar_height}" fill="{colour}">'
            f"<title>{escape(label)}：{wan(value)} 万元</title></rect>",
            f'<text x="{left + length + 6}" y="{y + bar_height * 0.7:.0f}" font-size="13">{wan(value)} 万元</text>',
        ]
    if not items:
        parts.append(f'<text x="{left}" y="{top + 18}" font-size="13">暂无数据</text>')
    parts.append("</svg>")
    return "".join(parts)


def timeline_chart(
    payments: Sequence[tuple[date, int]],
    *,
    contract_fen: int | None,
    start: date,
    end: date,
    title: str,
    width: int = 640,
    height: int = 260,
) -> str:
    """Cumulative payments over time as a step line, against the contract amount (a dashed line)."""
    left, right, top, bottom = 70, 20, 36, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    ordered = sorted(payments)
    total = sum(v for _, v in ordered)
    ceiling = max(total, contract_fen or 0) or 1
    days = max((end - start).days, 1)

    def x(d: date) -> float:
        return left + plot_w * min(max((d - start).days, 0), days) / days

    def y(v: int) -> float:
        return top + plot_h * (1 - v / ceiling)

    points = [(x(start), y(0))]
    running = 0
    for d, v in ordered:
        points.append((x(d), y(running)))
        running += v
        points.append((x(d), y(running)))
    points.append((x(end), y(running)))
    path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    share = f"，占合同金额 {total / contract_fen:.1%}" if contract_fen else ""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-labelledby="tt td" class="chart">',
        f'<title id="tt">{escape(title)}</title>',
        f'<desc id="td">{escape(f"{start}至{end}累计支付 {wan(total)} 万元{share}，共 {len(ordered)} 笔")}</desc>',
        f'<text x="0" y="20" font-size="15">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#888"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="12">{wan(ceiling)}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="12">0</text>',
        f'<text x="{left}" y="{height - 12}" font-size="12">{start}</text>',
        f'<text x="{left + plot_w}" y="{height - 12}" text-anchor="end" font-size="12">{end}</text>',
        f'<text x="8" y="{top + plot_h / 2:.0f}" font-size="12" transform="rotate(-90 8,{top + plot_h / 2:.0f})">'
        "万元</text>",
    ]
    if contract_fen:
        cy = y(contract_fen)
        parts += [
            f'<line x1="{left}" y1="{cy:.1f}" x2="{left + plot_w}" y2="{cy:.1f}" stroke="#c0392b" '
            f'stroke-dasharray="6 4" class="contract-line"/>',
            f'<text x="{left + plot_w}" y="{cy - 5:.1f}" text-anchor="end" font-size="12" fill="#c0392b">'
            f"合同金额 {wan(contract_fen)} 万元</text>",
        ]
    parts.append(f'<polyline points="{_attr(path)}" fill="none" stroke="#1f5fa8" stroke-width="2.5" class="paid"/>')
    for d, v in ordered:
        parts.append(
            f'<circle cx="{x(d):.1f}" cy="{y(sum(a for e, a in ordered if e <= d)):.1f}" r="3.5" fill="#1f5fa8">'
            f"<title>{d}：{wan(v)} 万元</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)
