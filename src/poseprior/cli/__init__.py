"""The ``poseprior`` command line: typer and rich, the ``[cli]`` extra (the library itself needs neither)."""


def main(argv: list[str] | None = None) -> None:
    """Console entry point: :func:`poseprior.cli.app.main`, or one line naming the extra to install."""
    try:
        import rich  # noqa: F401
        import typer  # noqa: F401
    except ImportError as e:
        import sys

        print(
            f"error: poseprior's command line needs {e.name}, which is not installed: pip install 'poseprior[cli]'",
            file=sys.stderr,
        )
        raise SystemExit(1) from None
    from poseprior.cli.app import main as run

    run(argv)
