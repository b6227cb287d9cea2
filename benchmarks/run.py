"""Run every benchmark script: ``--quick`` on small subsets in a few minutes (CI runs it: the point is that every
script still runs; its numbers go to ``record.quick_dir()`` and are never published), or in full for publication
(then ``python benchmarks/report.py`` renders the docs from the new results).

    .venv/bin/python benchmarks/run.py --quick        # every script, small subsets
    .venv/bin/python benchmarks/run.py                # every published run (hours on a 2-core CPU)
    .venv/bin/python benchmarks/run.py flow ik        # some scripts only
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent

#: Each published run: script and arguments (the commands docs/benchmarks.md names).
FULL: list[tuple[str, list[str]]] = [
    ("foundation", []),
    ("canonical_body", ["--threads", "1"]),
    ("flow", ["--model", "flow-bandai", "--threads", "1", "--record"]),
    ("priors", ["--model", "flow-bandai", "--model", "vae-bandai", "--model", "ndf-bandai", "--threads", "2"]),
    ("flow_design", ["--threads", "1"]),
    ("ndf_projection", ["--model", "runs/ndf-ref/export/ndf-ref.json", "--model", "ndf-bandai", "--threads", "1"]),
    ("ik", ["--model", "flow-ik-bandai", "--prior", "flow-bandai", "--threads", "1"]),
    (
        "ik",
        [
            "--model",
            "flow-ik-bandai",
            "--threads",
            "1",
            "--temperature",
            "0.7",
            "--kind",
            "3D, 30% hidden",
            "--kind",
            "2D perspective",
        ],
    ),
    (
        "ik",
        [
            "--model",
            "flow-ik-bandai",
            "--threads",
            "1",
            "--temperature",
            "0.5",
            "--kind",
            "3D, 30% hidden",
            "--kind",
            "2D perspective",
        ],
    ),
    ("fitting", ["--split", "test", "--threads", "1"]),
    ("fitting", ["--split", "val", "--limit", "300", "--sweep", "--threads", "1"]),
    ("fitting", ["--split", "val", "--limit", "300", "--optimizer", "lbfgs", "--threads", "1"]),
    ("denoise", ["--threads", "1"]),
    ("denoise", ["--split", "val", "--takes", "12", "--sweep", "--threads", "1"]),
    ("lifting", ["--threads", "2"]),
    ("lifter_architecture", ["--threads", "1"]),
    ("lifter_h36m_format", ["--threads", "1"]),
    ("viz", ["--threads", "1"]),
    ("crosslab", ["--threads", "1"]),
    ("crosslab_cli", ["--jobs", "2"]),
    ("memory", []),
    ("regression", []),
]
#: Each script's quick run: its ``--quick`` plus what keeps it small and fast (one run per script).
QUICK: dict[str, list[str]] = {
    "priors": ["--model", "vae-bandai", "--threads", "1"],
    "ndf_projection": ["--model", "ndf-bandai", "--threads", "1"],
    "ik": ["--model", "flow-ik-bandai", "--threads", "1"],
    "flow": ["--model", "flow-bandai", "--threads", "1"],
    "flow_design": ["--threads", "1"],
    "canonical_body": ["--threads", "1"],
    "fitting": ["--threads", "1"],
    "denoise": ["--threads", "1"],
    "lifting": ["--threads", "1"],
    "lifter_architecture": ["--threads", "1"],
    "lifter_h36m_format": ["--threads", "1"],
    "viz": ["--threads", "1"],
    "crosslab": ["--threads", "1"],
    "crosslab_cli": ["--jobs", "2"],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scripts", nargs="*", help="run only these (default: all)")
    parser.add_argument(
        "--quick", action="store_true", help="small subsets; results under record.quick_dir(), not published"
    )
    args = parser.parse_args(argv)
    known = [name for name, _ in FULL]
    unknown = [s for s in args.scripts if s not in known]
    if unknown:
        parser.error(f"unknown script(s) {', '.join(unknown)}; known: {', '.join(known)}")
    failed = []
    runs = [(name, ["--quick", *QUICK.get(name, [])]) for name in dict(FULL)] if args.quick else FULL
    for name, arguments in runs:
        if args.scripts and name not in args.scripts:
            continue
        command = [sys.executable, str(BENCHMARKS / f"{name}.py"), *arguments]
        print(f"== {' '.join(command[1:])}", flush=True)
        start = time.perf_counter()
        done = subprocess.run(command, cwd=REPO, check=False)
        print(f"== {name}: exit {done.returncode} in {time.perf_counter() - start:.0f} s", flush=True)
        if done.returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
