"""Render every published number from the results files (``benchmarks/results/*.json``, see ``record.py``).

Numbers appear in three kinds of places, all written by this script and none by hand:

- **blocks** in Markdown files: ``<!-- render: SCRIPT:BLOCK -->`` ... ``<!-- /render -->``; the text between is
  what ``benchmarks/SCRIPT.py``'s ``render(results)`` returns under ``BLOCK`` (a table, a list);
- **values** in prose: ``<!-- value: FILE:PATH|FORMAT -->285.3<!-- /value -->``, the number at the dotted
  ``PATH`` of ``benchmarks/results/FILE.json`` formatted by ``FORMAT`` (Python's format spec);
- the **card** shipped with the weights (``src/poseprior/assets/benchmarks.json``), built from :data:`CARD`.

``python benchmarks/report.py`` rewrites them; ``--check`` changes nothing and exits 1, naming each place that
differs from what the results say (a test runs it).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
RESULTS = BENCHMARKS / "results"
#: Files whose marked places are rendered.
DOCUMENTS = (REPO / "docs" / "benchmarks.md", REPO / "docs" / "conventions.md", REPO / "README.md")
CARD_PATH = REPO / "src" / "poseprior" / "assets" / "benchmarks.json"

BLOCK = re.compile(
    r"(?P<open><!-- render: (?P<name>[\w.\-]+:[\w.\-]+) -->\n)(?P<body>.*?)(?P<close><!-- /render -->)", re.S
)
VALUE = re.compile(r"(?P<open><!-- value: (?P<spec>[^>]+?) -->)(?P<body>.*?)(?P<close><!-- /value -->)", re.S)

#: The card: (task, model, metric, value, script, subset); value and subset may hold ``{FILE:PATH|FORMAT}`` fields.
CARD: list[tuple[str, str, str, str, str, str]] = [
    ("pose prior", "flow-bandai", "log-likelihood (nats/pose, uniform = 0): dataset 1 / dataset 2",
     "{flow:results.models.flow-bandai.dataset1_log_likelihood_nats|.1f} / {flow:results.models.flow-bandai.dataset2_log_likelihood_nats|.1f}",
     "benchmarks/flow.py", "bandai-v1 test, all {flow:subset.poses|,d} poses"),
    ("pose prior", "flow-bandai", "median log-likelihood (nats/pose, uniform = 0), cross-lab",
     "{crosslab:results.log_likelihood.rows.pooled.flow_median_nats|.0f}", "benchmarks/crosslab.py", "39 cross-lab + 3 CMU takes, 10 fps"),
    ("pose prior", "vae-bandai", "realism of samples (deg to the nearest test pose)",
     "{priors:results.priors.vae-bandai.realism_deg|.2f}", "benchmarks/priors.py", "{priors:results.conditions.samples|,d} samples, bandai-v1 test"),
    ("pose prior", "ndf-bandai", "realism of samples (deg to the nearest test pose)",
     "{priors:results.priors.ndf-bandai.realism_deg|.2f}", "benchmarks/priors.py", "{priors:results.conditions.samples|,d} samples, bandai-v1 test"),
    ("inverse kinematics", "flow-ik-bandai", "3D keypoints, 30% hidden: mode MPJPE (mm), dataset 1 / dataset 2",
     "{ik:results.models.flow-ik-bandai.kinds.3d_masked30.dataset1_mode_mpjpe_mm|.1f} / {ik:results.models.flow-ik-bandai.kinds.3d_masked30.dataset2_mode_mpjpe_mm|.1f}",
     "benchmarks/ik.py", "bandai-v1 test, {ik:subset.poses|,d} poses evenly spaced"),
    ("3D fitting", "vae-bandai", "world frame, 20 mm noise + 30% hidden: MPJPE (mm), dataset 1 / dataset 2",
     "{fitting-test:results.world.cases.both.methods.vae-bandai.dataset1_mpjpe_mm|.1f} / {fitting-test:results.world.cases.both.methods.vae-bandai.dataset2_mpjpe_mm|.1f}",
     "benchmarks/fitting.py", "bandai-v1 test, {fitting-test:subset.poses|,d} poses evenly spaced"),
    ("3D fitting", "vae-bandai", "world frame, 20 mm noise + 30% hidden: MPJPE (mm), cross-lab",
     "{crosslab:results.fit3d.rows.pooled.vae-bandai_mpjpe_mm|.1f}", "benchmarks/crosslab.py", "cross-lab + CMU takes"),
    ("2D fitting", "vae-bandai", "perspective, 3 px noise: MPJPE (mm), dataset 1 / dataset 2",
     "{fitting-test:results.2d.methods.vae-bandai.dataset1_mpjpe_mm|.1f} / {fitting-test:results.2d.methods.vae-bandai.dataset2_mpjpe_mm|.1f}",
     "benchmarks/fitting.py", "bandai-v1 test, {fitting-test:subset.poses|,d} poses evenly spaced"),
    ("denoising", "ndf-bandai", "20 deg RMS per joint: MPJPE noisy -> denoised (mm), dataset 1",
     "{denoise-test:results.priors.ndf-bandai.dataset1.mpjpe_noisy_mm|.1f} -> {denoise-test:results.priors.ndf-bandai.dataset1.mpjpe_denoised_mm|.1f}",
     "benchmarks/denoise.py", "bandai-v1 test takes spread over the split"),
    ("lifting", "lifter-rot-bandai", "MPJPE (mm) / MPJAE (deg), dataset 1",
     "{lifting:results.rotation_lifters.lifter-rot-bandai.metrics.dataset1.mpjpe_mm|.1f} / {lifting:results.rotation_lifters.lifter-rot-bandai.metrics.dataset1.mpjae_deg|.1f}",
     "benchmarks/lifting.py", "bandai-v1 test views, exact pixels"),
    ("lifting", "lifter-rot-bandai", "MPJPE (mm) / MPJAE (deg), cross-lab",
     "{crosslab:results.lifting.rows.pooled.rot_mpjpe_mm|.1f} / {crosslab:results.lifting.rows.pooled.rot_mpjae_deg|.1f}",
     "benchmarks/crosslab.py", "cross-lab + CMU takes, one random camera each"),
    ("lifting", "lifter-flow-bandai", "mode / best-of-200 MPJPE (mm), dataset 1",
     "{lifting:results.flow_lifters.lifter-flow-bandai.samples.metrics.dataset1.mode_mpjpe_mm|.1f} / {lifting:results.flow_lifters.lifter-flow-bandai.samples.metrics.dataset1.best_of_200_mpjpe_mm|.1f}",
     "benchmarks/lifting.py", "bandai-v1 test views, exact pixels"),
]  # fmt: skip


class Missing(Exception):
    """A results file or a value in it that a place asks for is not there."""


def results(name: str, folder: Path = RESULTS) -> dict[str, Any]:
    path = folder / f"{name}.json"
    if not path.is_file():
        raise Missing(f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path} does not exist")
    return json.loads(path.read_text())


def value(spec: str, folder: Path = RESULTS) -> str:
    """The formatted number of ``FILE:PATH|FORMAT`` (``flow:results.flow-bandai.test_nats|.2f``)."""
    where, _, fmt = spec.partition("|")
    name, _, path = where.partition(":")
    node: Any = results(name, folder)
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            raise Missing(f"benchmarks/results/{name}.json has no {path}")
        node = node[key]
    return format(node, fmt)


def _script_module(script: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"benchmark_{script}", BENCHMARKS / f"{script}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


def block(name: str, folder: Path = RESULTS, _cache: dict = {}) -> str:  # noqa: B006 (a per-run module cache)
    """The text of block ``SCRIPT:BLOCK`` from ``benchmarks/SCRIPT.py``'s ``render``."""
    script, _, part = name.partition(":")
    key = (script, folder)
    if key not in _cache:
        module = _script_module(script)
        loader: Callable[[str], dict] = lambda setting="": results(f"{script}-{setting}" if setting else script, folder)  # noqa: E731
        _cache[key] = module.render(loader)
    blocks = _cache[key]
    if part not in blocks:
        raise Missing(f"benchmarks/{script}.py renders no block {part!r} (it has {', '.join(blocks)})")
    return blocks[part].rstrip("\n") + "\n"


def render_document(text: str, folder: Path = RESULTS) -> tuple[str, list[str]]:
    """``text`` with every block and value re-rendered, and the names of those that could not be."""
    missing: list[str] = []

    def one_block(m: re.Match) -> str:
        try:
            return m["open"] + block(m["name"], folder) + m["close"]
        except Missing as e:
            missing.append(f"block {m['name']}: {e}")
            return m[0]

    def one_value(m: re.Match) -> str:
        try:
            return m["open"] + value(m["spec"], folder) + m["close"]
        except Missing as e:
            missing.append(f"value {m['spec']}: {e}")
            return m[0]

    return VALUE.sub(one_value, BLOCK.sub(one_block, text)), missing


def render_card(folder: Path = RESULTS) -> str:
    rows = []

    def fill(template: str) -> str:
        return re.sub(r"\{([^{}]+)\}", lambda m: value(m[1], folder), template)

    for task, model, metric, template, script, subset in CARD:
        rows.append(
            {
                "task": task,
                "model": model,
                "metric": metric,
                "value": fill(template),
                "script": script,
                "subset": fill(subset),
            }
        )
    note = (
        "Headline results of the shipped models, rendered by benchmarks/report.py from benchmarks/results/*.json "
        "(each written by the script named; rerun it to check). The subset and split are beside each number."
    )
    return json.dumps({"note": note, "rows": rows}, indent=1) + "\n"


def differences(text: str, rendered: str, where: str) -> list[str]:
    """The places of ``where`` whose text differs from the rendering."""
    out = []
    old_blocks = {m["name"]: m["body"] for m in BLOCK.finditer(text)}
    new_blocks = {m["name"]: m["body"] for m in BLOCK.finditer(rendered)}
    out += [
        f"{where}: block {name} differs from what the results say"
        for name in old_blocks
        if old_blocks[name] != new_blocks.get(name)
    ]
    old_values = [(m["spec"], m["body"]) for m in VALUE.finditer(text)]
    new_values = [(m["spec"], m["body"]) for m in VALUE.finditer(rendered)]
    out += [
        f"{where}: value {spec} reads {a!r}, the results say {b!r}"
        for (spec, a), (_, b) in zip(old_values, new_values, strict=False)
        if a != b
    ]
    if not out and text != rendered:
        out.append(f"{where}: differs from its rendering")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 naming what differs from the results"
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="the results folder")
    args = parser.parse_args(argv)
    problems: list[str] = []
    for path in DOCUMENTS:
        text = path.read_text()
        rendered, missing = render_document(text, args.results)
        where = str(path.relative_to(REPO))
        problems += [f"{where}: {m}" for m in missing]
        if args.check:
            problems += differences(text, rendered, where)
        elif rendered != text:
            path.write_text(rendered)
            print(f"rendered {where}")
    try:
        card = render_card(args.results)
    except Missing as e:
        problems.append(f"{CARD_PATH.relative_to(REPO)}: {e}")
    else:
        if args.check and CARD_PATH.read_text() != card:
            problems.append(f"{CARD_PATH.relative_to(REPO)}: differs from what the results say")
        elif not args.check and CARD_PATH.read_text() != card:
            CARD_PATH.write_text(card)
            print(f"rendered {CARD_PATH.relative_to(REPO)}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
