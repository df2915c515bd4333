"""Search quality where users deploy: the cheapest model at each accuracy level.

A user deploys the cheapest model that is accurate enough. For each dataset this script
takes the runs of `bench_search.py` (one JSON of runs: methods x seeds, every finished
point with its val/test accuracy and EBOPs, and da4ml LUTs where the runs measured them),
and for each method and seed:
- the method's candidates are the points it returns to its user: its front on
  (val_accuracy max, EBOPs min), trials' final models and harvested epochs alike;
- the accuracy levels are the deployable band: 0.5, 1, 2, 3 and 5 points below the best
  test accuracy any method's candidate reached on the dataset (`pareto.deploy_levels`);
- at each level, the cost of the cheapest candidate whose test accuracy reaches it
  (`pareto.cheapest_reaching`); a method that reaches no model at a level is charged the
  largest cost any candidate of the dataset had (the biggest model: `log_cost_ratios`).
Against each baseline: the ratio baseline cost / tool cost per level (> 1: the tool's model
is smaller), its geometric mean over levels and seeds, and a paired bootstrap 95 % CI over
the seeds (`pareto.paired_bootstrap_geomean`; seeds pair runs made one after the other on
one machine). The hypervolume of (val_accuracy, log10 EBOPs) stays a secondary figure, with
bench_search's reference point.

Writes OUT/deploy_NAME.json, OUT/deploy_NAME.png (per dataset: the median cheapest EBOPs at
each accuracy, the levels marked) and its section of docs/benchmarks.md.

    python scripts/bench_deploy.py --runs benchmarks/search_deploy.json --tool default \
        --baselines default-tf recipe2+h --name deploy
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from benchlib import write_section  # noqa: E402

from hgq_automl.pareto import DEPLOY_OFFSETS, deploy_levels, log_cost_ratios, paired_bootstrap_geomean, pareto_front  # noqa: E402


def candidates(run: dict) -> list[dict]:
    """The points a run returns to its user: its front on (val_accuracy max, EBOPs min)."""
    return pareto_front(run["points"], [("val_accuracy", "max"), ("ebops", "min")])


def analyse(runs: list[dict], tool: str, baselines: list[str], cost: str = "ebops") -> dict:
    """Per dataset: the levels, each method's cheapest cost per level and seed, and each
    baseline's ratio to the tool (per level, and overall with its CI)."""
    out: dict = {}
    for dataset in sorted({r["dataset"] for r in runs}):
        mine = [r for r in runs if r["dataset"] == dataset and r["method"] in (tool, *baselines)]
        fronts = {(r["method"], r["seed"]): candidates(r) for r in mine}
        every = [p for front in fronts.values() for p in front if np.isfinite(p.get(cost, np.nan))]
        if not every:
            continue
        best = max(p["test_accuracy"] for p in every)
        levels = deploy_levels(best)
        ceiling = max(p[cost] for p in every)
        seeds = sorted({s for (m, s) in fronts if m == tool})
        methods = {}
        for method in (tool, *baselines):
            table = [[_cheapest(fronts.get((method, s)), lv, cost) for lv in levels] for s in seeds if (method, s) in fronts]
            methods[method] = {
                "seeds": [s for s in seeds if (method, s) in fronts],
                "cheapest": table,
                "median": [_median([row[i] for row in table]) for i in range(len(levels))],
                "reached": [sum(np.isfinite(row[i]) for row in table) for i in range(len(levels))],
            }
        versus = {}
        for base in baselines:
            paired = [s for s in seeds if (base, s) in fronts]
            if not paired:
                continue
            logs = np.array([log_cost_ratios(fronts[(tool, s)], fronts[(base, s)], levels, ceiling, cost=cost) for s in paired])
            mean, low, high = paired_bootstrap_geomean(logs)
            per_level = [paired_bootstrap_geomean(logs[:, [i]]) for i in range(len(levels))]
            versus[base] = {"seeds": paired, "geomean": mean, "ci95": [low, high], "per_level": [list(x) for x in per_level]}
        out[dataset] = {"best_test_accuracy": best, "offsets": list(DEPLOY_OFFSETS), "levels": levels, "ceiling": ceiling,
                        "cost": cost, "methods": methods, "versus": versus}
    return out


def _cheapest(front: list[dict] | None, level: float, cost: str) -> float:
    from hgq_automl.pareto import cheapest_reaching

    return cheapest_reaching(front or [], level, cost=cost)


def _median(values: list[float]) -> float:
    """The median of the seeds that reached the level (NaN when none did)."""
    reached = [v for v in values if np.isfinite(v)]
    return float(np.median(reached)) if reached else float("nan")


def hypervolumes(runs: list[dict], methods: list[str]) -> dict:
    """bench_search's secondary figure: mean hypervolume of (val_accuracy, log10 EBOPs) per
    method, against its reference point per dataset."""
    from bench_search import REFERENCE, hypervolume

    out = {}
    for dataset in sorted({r["dataset"] for r in runs}):
        ref = REFERENCE[dataset]
        out[dataset] = {"reference": list(ref), **{
            m: float(np.mean([hypervolume(r["points"], ref) for r in runs if r["dataset"] == dataset and r["method"] == m]))
            for m in methods if any(r["dataset"] == dataset and r["method"] == m for r in runs)
        }}
    return out


def plot(runs: list[dict], result: dict, tool: str, baselines: list[str], path: Path) -> None:
    """Per dataset: test accuracy vs the median (over seeds) cheapest EBOPs reaching it, one
    step curve per method, the deployable levels as dashed lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(result)
    fig, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 4.5), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        res = result[dataset]
        cost = res["cost"]
        grid = np.linspace(res["best_test_accuracy"] - 0.08, res["best_test_accuracy"], 81)
        for method in (tool, *baselines):
            fronts = [candidates(r) for r in runs if r["dataset"] == dataset and r["method"] == method]
            if not fronts:
                continue
            costs = [np.median([_cheapest(f, a, cost) for f in fronts]) for a in grid]
            ax.step(costs, grid, where="post", label=f"{method} ({len(fronts)} seeds)", lw=2 if method == tool else 1.2)
        for offset, level in zip(res["offsets"], res["levels"]):
            ax.axhline(level, ls="--", lw=0.6, color="grey")
            ax.text(1.0, level, f" -{offset * 100:g} pt", fontsize=7, va="bottom", transform=ax.get_yaxis_transform(), ha="right")
        ax.set_xscale("log")
        ax.set_xlabel(f"cheapest {cost} reaching the accuracy (median over seeds)")
        ax.set_ylabel("test accuracy")
        ax.set_title(f"{dataset}: the cheapest model at each accuracy")
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(data: dict, image: str) -> str:
    tool, baselines = data["tool"], data["baselines"]
    lines = [
        f"### The cheapest model at each accuracy ({data['name']})",
        "",
        f"`python scripts/bench_deploy.py --runs {data['runs_file']} --tool {tool} --baselines {' '.join(baselines)} --name {data['name']}{'' if data.get('cost', 'ebops') == 'ebops' else ' --cost ' + data['cost']}` "
        f"({data['machine']}). Candidates: each run's front on (val_accuracy, EBOPs), harvested epochs included; levels: "
        f"{', '.join(f'{o * 100:g}' for o in DEPLOY_OFFSETS)} points below the best test accuracy any method reached; at each level the "
        "cheapest candidate whose test accuracy reaches it. Ratio = baseline's cost / the tool's (> 1: the tool's model is smaller); "
        "a method that reaches no model at a level is charged the largest cost of the dataset. Geometric mean over levels and seeds, "
        "paired bootstrap 95 % CI over the seeds.",
        "",
    ]
    for dataset, res in data["result"].items():
        lines += [f"**{dataset}** (best test accuracy {res['best_test_accuracy']:.4f}; cost {res['cost']}):", ""]
        head = "| method | seeds | " + " | ".join(f"≥ {lv:.4f}" for lv in res["levels"]) + " |"
        lines += [head, "|" + "---|" * (2 + len(res["levels"]))]
        for method, m in res["methods"].items():
            cells = [f"{c:,.0f} ({r}/{len(m['seeds'])})" if np.isfinite(c) else f"– ({r}/{len(m['seeds'])})" for c, r in zip(m["median"], m["reached"])]
            lines.append(f"| {method} | {len(m['seeds'])} | " + " | ".join(cells) + " |")
        lines += ["", "Median cheapest cost over the seeds (seeds that reached the level).", ""]
        lines += ["| baseline / " + tool + " | " + " | ".join(f"≥ {lv:.4f}" for lv in res["levels"]) + " | geometric mean [95 % CI] |",
                  "|" + "---|" * (2 + len(res["levels"]))]
        for base, v in res["versus"].items():
            cells = [f"{g:.2f}× [{lo:.2f}, {hi:.2f}]" for g, lo, hi in v["per_level"]]
            lines.append(f"| {base} | " + " | ".join(cells) + f" | **{v['geomean']:.2f}×** [{v['ci95'][0]:.2f}, {v['ci95'][1]:.2f}] |")
        hv = data["hypervolume"].get(dataset, {})
        if hv:
            lines += ["", f"Secondary: mean hypervolume of (val_accuracy, log10 EBOPs), reference point {tuple(hv['reference'])}: "
                      + ", ".join(f"{m} {v:.3f}" for m, v in hv.items() if m != "reference") + "."]
        lines.append("")
    lines.append(f"![the cheapest model at each accuracy]({image})")
    return "\n".join(lines)


def main() -> int:
    from benchlib import machine

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", required=True, help="a bench_search JSON (its `runs`)")
    parser.add_argument("--tool", default="default")
    parser.add_argument("--baselines", nargs="+", required=True)
    parser.add_argument("--name", default="deploy")
    parser.add_argument("--out", default=str(REPO / "benchmarks"))
    parser.add_argument("--doc", default=str(REPO / "docs" / "benchmarks.md"))
    parser.add_argument("--cost", default="ebops", choices=("ebops", "luts"),
                        help="the cost a user minimises: HGQ's EBOPs, or da4ml's LUTs (every front member carries them)")
    args = parser.parse_args()
    source = json.loads(Path(args.runs).read_text())
    runs = source["runs"]
    result = analyse(runs, args.tool, args.baselines, cost=args.cost)
    out = Path(args.out)
    data = {
        "name": args.name, "runs_file": str(Path(args.runs).resolve().relative_to(REPO)) if Path(args.runs).resolve().is_relative_to(REPO) else args.runs,
        "tool": args.tool, "baselines": args.baselines, "cost": args.cost, "machine": next((r.get("machine") for r in runs if r.get("machine")), machine()),
        "budgets": source.get("budgets"), "result": result, "hypervolume": hypervolumes(runs, [args.tool, *args.baselines]),
    }
    (out / f"deploy_{args.name}.json").write_text(json.dumps(data, indent=1, default=float))
    plot(runs, result, args.tool, args.baselines, out / f"deploy_{args.name}.png")
    write_section(Path(args.doc), f"deploy_{args.name}", markdown(data, f"../benchmarks/deploy_{args.name}.png"))
    print(markdown(data, f"deploy_{args.name}.png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
