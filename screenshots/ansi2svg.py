#!/usr/bin/env python3
"""Turns a terminal capture with ANSI colours (`tmux capture-pane -e -p`) into an SVG image.

    python3 screenshots/ansi2svg.py capture.ansi > capture.svg
"""
import html
import re
import sys

BASE16 = [
    "#1e1e2e", "#e5534b", "#57ab5a", "#c69026", "#539bf5", "#b083f0", "#39c5cf", "#adbac7",
    "#636e7b", "#ff938a", "#6bc46d", "#daaa3f", "#6cb6ff", "#dcbdfb", "#56d4dd", "#f0f6fc",
]
FG, BG = "#d8dee9", "#1e1e2e"
CW, CH, PAD = 8.4, 17, 12


def colour256(n):
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return "#%02x%02x%02x" % (v, v, v)


def sgr(params, st):
    ps = [int(p) if p else 0 for p in params.split(";")] if params else [0]
    i = 0
    while i < len(ps):
        p = ps[i]
        if p == 0:
            st.update(fg=None, bg=None, bold=False, rev=False)
        elif p == 1:
            st["bold"] = True
        elif p == 22:
            st["bold"] = False
        elif p == 7:
            st["rev"] = True
        elif p == 27:
            st["rev"] = False
        elif 30 <= p <= 37:
            st["fg"] = BASE16[p - 30]
        elif 90 <= p <= 97:
            st["fg"] = BASE16[p - 90 + 8]
        elif 40 <= p <= 47:
            st["bg"] = BASE16[p - 40]
        elif 100 <= p <= 107:
            st["bg"] = BASE16[p - 100 + 8]
        elif p == 39:
            st["fg"] = None
        elif p == 49:
            st["bg"] = None
        elif p in (38, 48) and i + 1 < len(ps):
            key = "fg" if p == 38 else "bg"
            if ps[i + 1] == 5 and i + 2 < len(ps):
                st[key] = colour256(ps[i + 2])
                i += 2
            elif ps[i + 1] == 2 and i + 4 < len(ps):
                st[key] = "#%02x%02x%02x" % tuple(ps[i + 2:i + 5])
                i += 4
        i += 1


def parse(text):
    rows = []
    st = dict(fg=None, bg=None, bold=False, rev=False)
    for line in text.rstrip("\n").split("\n"):
        cells = []
        for m in re.finditer(r"\x1b\[([0-9;]*)([A-Za-z])|([^\x1b])", line):
            if m.group(3) is not None:
                fg, bg = st["fg"] or FG, st["bg"]
                if st["rev"]:
                    fg, bg = (bg or BG), fg
                cells.append((m.group(3), fg, bg, st["bold"]))
            elif m.group(2) == "m":
                sgr(m.group(1), st)
        rows.append(cells)
    return rows


def svg(rows):
    width = max((len(r) for r in rows), default=80)
    w, h = width * CW + 2 * PAD, len(rows) * CH + 2 * PAD
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" '
        f'viewBox="0 0 {w:.0f} {h:.0f}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" '
        f'font-size="14">',
        f'<rect width="100%" height="100%" fill="{BG}" rx="6"/>',
    ]
    for y, row in enumerate(rows):
        top = PAD + y * CH
        x = 0
        while x < len(row):
            ch, fg, bg, bold = row[x]
            end = x
            while end < len(row) and row[end][1:] == (fg, bg, bold):
                end += 1
            if bg:
                out.append(
                    f'<rect x="{PAD + x * CW:.1f}" y="{top}" width="{(end - x) * CW:.1f}" '
                    f'height="{CH}" fill="{bg}"/>'
                )
            run = "".join(c[0] for c in row[x:end])
            if run.strip():
                weight = ' font-weight="bold"' if bold else ""
                # One <tspan> per cell keeps the grid exact whatever the font's glyph widths.
                xs = " ".join(f"{PAD + (x + i) * CW:.1f}" for i in range(end - x))
                out.append(
                    f'<text x="{xs}" y="{top + CH - 4}" fill="{fg}"{weight} '
                    f'xml:space="preserve">{html.escape(run)}</text>'
                )
            x = end
    out.append("</svg>")
    return "\n".join(out)


if __name__ == "__main__":
    src = open(sys.argv[1], encoding="utf-8") if len(sys.argv) > 1 else sys.stdin
    print(svg(parse(src.read())))
