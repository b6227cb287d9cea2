"""The ``poseprior`` command. Each command group lives in its own module; heavy imports (torch) happen
inside the commands so that ``--help`` stays fast."""

from __future__ import annotations

import typer

from poseprior.cli import convert, data, demo, denoise, fit, ik, interpolate, lift, retarget, sample, score, train, view

app = typer.Typer(
    name="poseprior",
    help="Probabilistic human pose modelling: motion files, datasets, pose priors, fitting.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("demo")(demo.demo)
app.command("convert")(convert.convert)
app.command("retarget")(retarget.retarget)
app.add_typer(data.app, name="data")
app.add_typer(train.app, name="train")
app.command("sample")(sample.sample)
app.command("score")(score.score)
app.command("ik")(ik.ik)
app.command("denoise")(denoise.denoise)
app.command("interpolate")(interpolate.interpolate)
app.command("fit3d")(fit.fit3d)
app.command("fit2d")(fit.fit2d)
app.command("lift")(lift.lift)
app.command("view")(view.view)


def main() -> None:
    """Console entry point; a :class:`~poseprior.errors.PosePriorError` prints one clear line and exits 2."""
    from poseprior.errors import PosePriorError

    try:
        app()
    except PosePriorError as e:
        from rich.console import Console
        from rich.text import Text

        Console(stderr=True, soft_wrap=True).print(Text("error: ", style="bold red") + Text(str(e)))
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
