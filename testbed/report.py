"""The demo's report: a summary, gas per kind of call, plots, and an HTML page that shows them."""

import html
from collections import defaultdict
from pathlib import Path

import matplotlib
from ape.exceptions import QueryEngineError

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402 (after the backend is chosen)
import numpy as np  # noqa: E402

PLOTS = {
    "energy_per_day.png": "Energy booked per miner and day [Wh]",
    "rewards.png": "DECA earned per miner, honest and cheating",
    "cheats.png": "Each cheat against its honest twin",
    "pool.png": "DECA/ENERGY pool: price and reserves through the market chapter",
}


def gas_by_call(chain, senders, names):
    """Gas of every transaction the demo's accounts sent, by ``contract.method``.

    ``names`` maps contract addresses to names; deployments count as ``deploy``.
    """
    spent = defaultdict(lambda: [0, 0])
    for sender in senders:
        try:  # ape's sessional history can be unreadable after a test suite's chain reverts
            receipts = list(chain.history[sender.address])
        except QueryEngineError:
            continue
        for receipt in receipts:
            if receipt.contract_address:
                kind = "deploy"
            else:
                method = receipt.method_called.name if receipt.method_called else "transfer"
                kind = f"{names.get(receipt.receiver, 'account')}.{method}"
            spent[kind][0] += 1
            spent[kind][1] += receipt.gas_used
    return [{"call": k, "count": n, "gas": g, "gas each": g // n}
            for k, (n, g) in sorted(spent.items(), key=lambda x: -x[1][1])]


def summary(results, tables, parity, pool_state, certified, gas):
    """The figures the demo ends with, as rows of a table; ``certified`` is the certificate chapter's
    ``testbed.demo_certificates.Certified``."""
    honest = [r for r in results if r["kind"] == "honest"]
    cheats = [r for r in results if r["kind"] != "honest"]
    emitted = sum(t.emission for t in tables)
    paid = sum(r["deca_wei"] for r in results)
    rows = [
        ("miners (honest / cheating)", f"{len(honest)} / {len(cheats)}"),
        ("hours settled", len(tables)),
        ("energy booked, honest [kWh]", round(sum(r["booked_mwh"] for r in honest) / 1e6, 3)),
        ("energy booked, cheats [kWh]", round(sum(r["booked_mwh"] for r in cheats) / 1e6, 3)),
        ("winning draws", sum(r["wins"] for r in results)),
        ("DECA emitted", round(emitted / 1e18, 3)),
        ("DECA to honest miners", round(sum(r["deca_wei"] for r in honest) / 1e18, 3)),
        ("DECA to cheats", round(sum(r["deca_wei"] for r in cheats) / 1e18, 3)),
        ("DECA to the DAO vault (not earned)", round((emitted - paid) / 1e18, 3)),
        ("ENERGY supply = Σ tokenized [mWh]", f"{parity.supply_mwh} = {parity.tokenized_mwh}"),
        ("parity of nodes and ENERGY", "holds" if parity.holds else "BROKEN"),
        ("pool price [DECA/kWh]", round(pool_state["price"], 4) if pool_state else "-"),
        ("pool reserves [DECA / mWh]", f"{pool_state['deca_wei'] / 1e18:.4f} / {pool_state['energy_mwh']}"
         if pool_state else "-"),
        ("certified, honest / cheats [kWh]", f"{certified.by_kind.get('honest', 0) / 1e6:.3f} / "
         f"{sum(v for k, v in certified.by_kind.items() if k != 'honest') / 1e6:.3f}"),
        ("certificates issued / retired [kWh]", f"{certified.issued_mwh / 1e6:.3f} / {certified.retired_mwh / 1e6:.4f}"),
        ("CO2 avoided by the retired [kgCO2e]", round(certified.retired_co2_ug / 1e9, 4)),
        ("gas spent, all calls", sum(g["gas"] for g in gas)),
    ]
    return {"table": [{"figure": k, "value": v} for k, v in rows], "gas": gas}


def _colour(kind):
    return "tab:green" if kind == "honest" else "tab:red"


def _plot_energy(results):
    days = max(len(r["energy_per_day_mwh"]) for r in results)
    grid = np.array([r["energy_per_day_mwh"] + [0] * (days - len(r["energy_per_day_mwh"])) for r in results]) / 1000
    fig, ax = plt.subplots(figsize=(7, 2 + 0.12 * len(results)))
    im = ax.imshow(grid, aspect="auto", cmap="viridis")
    ax.set_xlabel("day")
    ax.set_ylabel("token")
    ax.set_yticks(range(len(results)), [f"{r['token']} {'' if r['kind'] == 'honest' else r['kind']}" for r in results],
                  fontsize=6)
    ax.set_xticks(range(days), [str(d + 1) for d in range(days)])
    fig.colorbar(im, ax=ax, label="Wh")
    return fig


def _plot_rewards(results):
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.bar([str(r["token"]) for r in results], [r["deca_wei"] / 1e18 for r in results],
           color=[_colour(r["kind"]) for r in results])
    ax.set_xlabel("token (green honest, red cheating)")
    ax.set_ylabel("DECA")
    ax.tick_params(axis="x", labelsize=6, rotation=90)
    return fig


def _plot_cheats(cheats):
    fig, ax = plt.subplots(figsize=(7, 3))
    x = np.arange(len(cheats))
    ax.bar(x - 0.2, [c["DECA"] for c in cheats], 0.4, color="tab:red", label="cheat")
    ax.bar(x + 0.2, [c["twin DECA"] for c in cheats], 0.4, color="tab:green", label="honest twin")
    ax.set_xticks(x, [c["kind"] for c in cheats], fontsize=7)
    ax.set_ylabel("DECA")
    ax.legend()
    return fig


def _plot_pool(snapshots):
    fig, ax = plt.subplots(figsize=(7, 3))
    steps = [s["step"] for s in snapshots]
    ax.plot(steps, [s["price"] for s in snapshots], "o-", color="tab:blue")
    ax.set_ylabel("price [DECA/kWh]", color="tab:blue")
    ax2 = ax.twinx()
    ax2.bar(steps, [s["energy_mwh"] / 1000 for s in snapshots], alpha=0.3, color="tab:orange")
    ax2.set_ylabel("ENERGY reserve [Wh]", color="tab:orange")
    ax.tick_params(axis="x", labelsize=7)
    ax.set_zorder(ax2.get_zorder() + 1)  # the price line over the reserve bars
    ax.patch.set_visible(False)
    return fig


def write(folder, results, cheats, summary_, snapshots):
    """The plots and ``index.html`` into ``folder``; returns the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    makers = {"energy_per_day.png": (_plot_energy, results), "rewards.png": (_plot_rewards, results),
              "cheats.png": (_plot_cheats, cheats), "pool.png": (_plot_pool, snapshots)}
    written = []
    for name, (make, data) in makers.items():
        if not data:
            continue
        fig = make(data)
        fig.suptitle(PLOTS[name], fontsize=9)
        fig.tight_layout()
        fig.savefig(folder / name, dpi=110)
        plt.close(fig)
        written.append(folder / name)
    page = folder / "index.html"
    page.write_text(_html(summary_, cheats, [p.name for p in written]))
    return [page, *written]


def _html_table(rows):
    if not rows:
        return "<p>none</p>"
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r.values()) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _html(summary_, cheats, images):
    figures = "".join(f'<figure><img src="{html.escape(name)}" alt="{html.escape(PLOTS[name])}">'
                      f"<figcaption>{html.escape(PLOTS[name])}</figcaption></figure>" for name in images)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Green-energy miners: demo report</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}img{{max-width:100%}}</style></head><body>
<h1>Demo report</h1>
<h2>Summary</h2>{_html_table(summary_["table"])}
<h2>Cheats against their honest twins</h2>{_html_table(cheats)}
<h2>Gas per kind of call</h2>{_html_table(summary_["gas"])}
<h2>Plots</h2>{figures}
</body></html>
"""

