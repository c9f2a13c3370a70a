"""Text for people: aligned tables of what a command or the demo found."""


def table(rows, columns=None):
    """Lines of a text table; ``rows`` are dicts, ``columns`` ``(key, heading)`` pairs (default:
    the first row's keys as headings). Columns of numbers align right."""
    if columns is None:
        columns = [(k, k) for k in rows[0]] if rows else []
    cells = [[str(r[k]) for k, _ in columns] for r in rows]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, (_, h) in enumerate(columns)]
    right = [bool(rows) and all(isinstance(r[k], int | float) for r in rows) for k, _ in columns]

    def line(values):
        return "  ".join(v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right)).rstrip()

    return [line([h for _, h in columns]), line(["-" * w for w in widths])] + [line(c) for c in cells]
