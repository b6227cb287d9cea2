"""The ``poseprior`` command. Each command group lives in its own module; heavy imports (torch) happen
inside the commands so that ``--help`` stays fast."""

from __future__ import annotations

import typer

from poseprior.cli import (
    convert,
    data,
    demo,
    denoise,
    fit,
    ik,
    interpolate,
    lift,
    retarget,
    sample,
    score,
    train,
    view,
)

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


#: What the ``[viz]`` extra installs: a command that needs one without it says so.
VIZ_MODULES = ("matplotlib", "imageio", "imageio_ffmpeg", "viser")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one rule at the edge for everything that goes wrong (exit status in brackets).

    - bad input or arguments (:class:`~poseprior.errors.PosePriorError`, a usage error): one line naming the
      file, line or flag [2];
    - the environment (a file that cannot be written, a full disk, no memory): one line naming the file [1];
    - Ctrl-C or SIGTERM: one line saying what stopped; outputs are written whole or not at all [130, 143];
    - anything else is a bug: one line, and the full traceback in a file it names [1].
    """
    import signal
    import sys

    args = sys.argv[1:] if argv is None else list(argv)
    command = "poseprior " + " ".join(a for a in args[:2] if not a.startswith("-")) if args else "poseprior"

    def stop(signum: int, _frame: object) -> None:
        raise _Stopped(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = app(args=args, standalone_mode=False)
    except _Stopped as e:
        name = "Ctrl-C" if e.signum == signal.SIGINT else signal.Signals(e.signum).name
        _fail(
            f"{command} interrupted ({name}); files are written whole or not at all, so none was left half-written",
            "stopped: ",
        )
        raise SystemExit(128 + e.signum) from None
    except BaseException as e:  # noqa: BLE001 (the edge: every exception becomes one line)
        message, status = _describe(e, command)
        if status is None:
            raise
        _fail(message)
        raise SystemExit(status) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    raise SystemExit(code if isinstance(code, int) else 0)


class _Stopped(BaseException):
    """SIGINT or SIGTERM, raised where the program is so that ``finally`` blocks (temporary files) run."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _describe(e: BaseException, command: str) -> tuple[str, int | None]:
    """One line and an exit status for an exception; status None: let it through (``SystemExit``)."""
    import errno

    from typer import _click

    from poseprior.errors import PosePriorError

    if isinstance(e, SystemExit):
        return "", None
    if isinstance(e, PosePriorError):
        return str(e), 2
    if isinstance(e, _click.exceptions.UsageError):
        where = e.ctx.command_path if e.ctx is not None else command
        return f"{e.format_message()} (see {where} --help)", 2
    if isinstance(e, _click.exceptions.ClickException):
        return e.format_message(), 2
    if isinstance(e, MemoryError):
        return f"{command}: out of memory; try a shorter input or a smaller count", 1
    if isinstance(e, ModuleNotFoundError) and (e.name or "").split(".")[0] in VIZ_MODULES:
        return f"{command} draws with {e.name}, which is not installed: pip install 'poseprior[viz]'", 1
    if isinstance(e, OSError):
        what = {
            errno.ENOSPC: "the disk is full",
            errno.EACCES: "permission denied",
            errno.EROFS: "read-only file system",
        }.get(e.errno, e.strerror or str(e))
        where = e.filename if e.filename is not None else command
        return f"{where}: {what}", 1
    return (
        f"{command}: internal error ({type(e).__name__}: {e}); this is a bug, the full traceback is in {_write_traceback(e)}",
        1,
    )


def _write_traceback(e: BaseException) -> str:
    """Write the traceback of ``e`` to a new file in the temporary folder; return its path."""
    import tempfile
    import traceback

    fd, path = tempfile.mkstemp(prefix="poseprior-traceback-", suffix=".txt")
    with open(fd, "w") as f:
        f.write("".join(traceback.format_exception(e)))
    return path


def _fail(message: str, label: str = "error: ") -> None:
    from rich.console import Console
    from rich.text import Text

    Console(stderr=True, soft_wrap=True, highlight=False).print(Text(label, style="bold red") + Text(message))


if __name__ == "__main__":
    main()
