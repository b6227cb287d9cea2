"""Every cross-lab and CMU take through ``poseprior score``, ``denoise`` and ``fit3d`` with their default settings,
as a user runs them (the console script, one process per command): whether each finishes, its last line and
its time. Written to ``benchmarks/results/crosslab_cli.json``.

The takes: the 39 of ``../shared/data/crosslab/crosslab-dev.zip`` (read in place, ``zip:member``) and CMU's
``01_01.bvh``, ``01_01.amc`` and ``11_01.amc``, whole. ``--quick`` runs one take of each rig, cut to 40 frames.

    .venv/bin/python benchmarks/crosslab_cli.py [--jobs 2] [--resume]   # one to two hours on a 2-core CPU

Each finished take is also written to ``benchmarks/results/.partial/crosslab_cli.json``; ``--resume`` skips the
takes found there (a run cut short goes on where it stopped); the full results file replaces it at the end.
``--jobs N`` runs N takes at once (each command is its own process, as a user's would be).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from poseprior.io import list_members, read_motion, write_motion
from record import RESULTS, save

#: Finished takes of a run in progress (``--resume`` reads it).
PARTIAL = RESULTS / ".partial" / "crosslab_cli.json"

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSEPRIOR_SHARED", REPO.parent / "shared")) / "data"
COMMANDS = ("score", "denoise", "fit3d")


def takes(quick: bool) -> list[str]:
    """Every take's path (``zip:member`` inside the cross-lab zip), or one of each rig for ``quick``."""
    archive = SHARED / "crosslab" / "crosslab-dev.zip"
    inside = sorted(m for m in list_members(archive, ".bvh"))
    paths = [f"{archive}:{m}" for m in inside] + [
        str(SHARED / "cmu" / n) for n in ("01_01.bvh", "01_01.amc", "11_01.amc")
    ]
    if quick:
        seen: set[str] = set()
        paths = [p for p in paths if not (_rig(p) in seen or seen.add(_rig(p)))]
    return paths


def _rig(path: str) -> str:
    return path.split(":")[-1].split("/")[0] if ":" in path else "cmu-" + Path(path).suffix[1:]


def run(command: str, path: str, folder: Path) -> dict:
    out = [] if command == "score" else ["-o", str(folder / f"{command}.bvh")]
    start = time.perf_counter()
    done = subprocess.run(
        [str(Path(sys.executable).with_name("poseprior")), command, path, *out],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = (done.stdout + done.stderr).strip().splitlines()
    return {
        "exit": done.returncode,
        "seconds_s": round(time.perf_counter() - start, 1),
        "last_line": lines[-1] if lines else "",
        "retargeted": any("joint names" in line for line in lines),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one take of each rig, 40 frames (not published)")
    parser.add_argument("--jobs", type=int, default=1, help="takes run at once")
    parser.add_argument("--resume", action="store_true", help=f"skip the takes already in {PARTIAL.relative_to(REPO)}")
    args = parser.parse_args(argv)
    rows: dict[str, dict] = (
        json.loads(PARTIAL.read_text()) if args.resume and PARTIAL.is_file() and not args.quick else {}
    )
    paths = takes(args.quick)
    saving = threading.Lock()

    def one(path: str) -> None:
        name, rig = (path.split(":")[-1] if ":" in path else Path(path).name), _rig(path)
        if name in rows:
            return
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            if args.quick:  # a short cut of the take, as its own file
                cut = folder / f"{Path(name).stem}.bvh"
                write_motion(read_motion(path).frames(slice(0, 40)), cut)
                path = str(cut)
            rows[name] = {"rig": rig, **{c: run(c, path, folder) for c in COMMANDS}}
        print(name, {c: rows[name][c]["exit"] for c in COMMANDS}, file=sys.stderr, flush=True)
        if not args.quick:
            with saving:  # the takes' threads share one temporary file
                PARTIAL.parent.mkdir(exist_ok=True)
                tmp_file = PARTIAL.with_suffix(f".{os.getpid()}.tmp")
                tmp_file.write_text(json.dumps(rows))
                tmp_file.replace(PARTIAL)

    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        list(pool.map(one, paths))
    order = {(p.split(":")[-1] if ":" in p else Path(p).name): i for i, p in enumerate(paths)}
    rows = dict(sorted(rows.items(), key=lambda kv: order.get(kv[0], len(order))))
    summary = {c: {"ok": sum(r[c]["exit"] == 0 for r in rows.values()), "takes": len(rows)} for c in COMMANDS}
    result = {"summary": summary, "takes": rows}
    subset = {
        "takes": len(rows),
        "chosen": "one take of each rig, its first 40 frames" if args.quick else "every take, whole",
        "settings": "each command's defaults",
    }
    save("crosslab_cli", result, subset=subset, quick=args.quick)
    PARTIAL.unlink(missing_ok=True)
    print(render(lambda setting="": {"results": result})["summary"])
    return result


#: What each command's last line reports: (pattern of its number, what it is, whether lower is worse).
REPORTS = {
    "score": (re.compile(r"mean log-likelihood: (-?[\d.]+)"), "mean log-likelihood (nats/pose)", True),
    "denoise": (re.compile(r"mean change ([\d.]+) deg"), "mean change (deg per joint)", False),
    "fit3d": (re.compile(r"visible keypoints ([\d.]+) mm"), "mean distance to the take's own joints (mm)", False),
}


def reported(command: str, line: str) -> float | None:
    """The number a command's last line reports (:data:`REPORTS`), or None."""
    found = REPORTS[command][0].search(line)
    return float(found.group(1)) if found else None


def render(results: Callable[..., dict]) -> dict[str, str]:
    """The docs' block (``benchmarks/report.py``)."""
    r = results()["results"]
    lines = [
        "| command | takes that finish | of | slowest take (s) | what it reports | median over takes | worst take |",
        "|---|---|---|---|---|---|---|",
    ]
    for c, s in r["summary"].items():
        slowest = max(t[c]["seconds_s"] for t in r["takes"].values())
        values = [v for v in (reported(c, t[c]["last_line"]) for t in r["takes"].values()) if v is not None]
        what, lower_is_worse = REPORTS[c][1], REPORTS[c][2]
        median = statistics.median(values) if values else float("nan")
        worst = (min if lower_is_worse else max)(values) if values else float("nan")
        lines.append(
            f"| `poseprior {c}` | {s['ok']} | {s['takes']} | {slowest:.0f} | {what} | {median:.1f} | {worst:.1f} |"
        )
    return {"summary": "\n".join(lines)}


if __name__ == "__main__":
    main()
