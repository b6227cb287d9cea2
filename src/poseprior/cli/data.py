"""``poseprior data``: prepare pose datasets (``prepare bandai``, ``prepare amass``) and inspect them (``info``).

Registered in :mod:`poseprior.cli.app` as ``app.add_typer(data.app, name="data")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="Pose datasets: prepare a cache of poses from motion data, inspect one.", no_args_is_help=True)
prepare_app = typer.Typer(
    help="Read a motion dataset once and cache its poses under a protocol (atomic: an interrupted run leaves "
    "no manifest, and re-running redoes it).",
    no_args_is_help=True,
)
app.add_typer(prepare_app, name="prepare")

Source = Annotated[Path, typer.Option("--source", help="Folder of the source dataset.", show_default=False)]
Out = Annotated[Path, typer.Option("--out", help="Folder to write the prepared cache to.", show_default=False)]
Workers = Annotated[int, typer.Option(min=1, help="Worker processes reading the takes.")]
ShowProgress = Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")]


@prepare_app.command("bandai")
def prepare_bandai(source: Source, out: Out, workers: Workers = 2, progress: ShowProgress = True) -> None:
    """Bandai Namco Motiondataset 1 + 2 under the bandai-v1 protocol.

    The pose is the 20 joints below Hips, every 3rd frame (30 -> 10 fps), split by the splits.json beside the
    zips; the BVH takes are read from the zips without extracting them.

    Example: poseprior data prepare bandai --source ../shared/data/bandai-namco --out prepared/bandai-v1
    """
    from poseprior.data.bandai import prepare_bandai as run

    _print_summary(run(source, out, progress=progress, workers=workers))


@prepare_app.command("amass")
def prepare_amass(
    source: Source,
    out: Out,
    fps: Annotated[float, typer.Option(min=0.001, help="Pose rate: every take is resampled to it.")] = 10.0,
    splits: Annotated[
        Path | None,
        typer.Option(
            help="JSON file mapping split names (val, test, ...) to lists of dataset folder names, replacing "
            "the VPoser split; datasets it does not name go to train."
        ),
    ] = None,
    joints: Annotated[
        str | None, typer.Option(help="Comma-separated pose joints (default: the 21 SMPL body joints).")
    ] = None,
    model_path: Annotated[
        Path | None,
        typer.Option(help="SMPL-H/SMPL-X model files for exact offsets (default: a generic template skeleton)."),
    ] = None,
    workers: Workers = 2,
    progress: ShowProgress = True,
) -> None:
    """AMASS (SMPL-H or SMPL-X npz takes) with a VPoser-like split.

    Reads SOURCE/<dataset>/<subject>/<take>_poses.npz; the pose is the 21 body joints below the pelvis,
    resampled to --fps; the split goes by dataset folder (VPoser's unless --splits).

    Example: poseprior data prepare amass --source AMASS --out prepared/amass
    """
    from poseprior.data.amass import prepare_amass as run

    names = None if joints is None else [j.strip() for j in joints.split(",") if j.strip()]
    _print_summary(
        run(
            source, out, fps=fps, joints=names, splits=splits, model_path=model_path, progress=progress, workers=workers
        )
    )


@app.command("info")
def info(root: Annotated[Path, typer.Argument(help="A prepared folder.", show_default=False)]) -> None:
    """Show what a prepared folder holds (checks that it is complete)."""
    from rich.console import Console

    from poseprior.data.cache import read_manifest
    from poseprior.io.units import unit_name

    m = read_manifest(root)
    console = Console()
    p = m["protocol"]
    rate = f"every {p['stride']} frames" if p["stride"] else f"resampled to {p['fps']:g} fps"
    console.print(f"[bold]{root}[/]: {m['dataset']}, protocol [bold]{p['name']}[/] ({rate}, splits: {p['splits']})")
    fps = "mixed" if m["fps"] is None else f"{m['fps']:g}"
    console.print(f"{len(m['joint_names'])} joints below {m['root']}: {', '.join(m['joint_names'])}")
    console.print(
        f"{fps} poses/s, lengths in {unit_name(m['unit'])}; prepared {m['created']} in {m['elapsed_s']:.1f} s"
    )
    console.print(_table(m["splits"]))


def _print_summary(summary: Any) -> None:
    from rich.console import Console

    console = Console()
    splits = {s: {"takes": c.takes, "frames": c.frames, "poses": c.poses} for s, c in summary.splits.items()}
    console.print(_table(splits))
    total = sum(c.poses for c in summary.splits.values())
    console.print(f"{total:,} poses ({summary.protocol.name}) written to {summary.root} in {summary.elapsed_s:.1f} s")


def _table(splits: dict[str, dict[str, int]]) -> Any:
    from rich.table import Table

    table = Table("split")
    for column in ("takes", "source frames", "poses"):
        table.add_column(column, justify="right")
    for name, c in splits.items():
        table.add_row(name, f"{c['takes']:,}", f"{c['frames']:,}", f"{c['poses']:,}")
    return table
