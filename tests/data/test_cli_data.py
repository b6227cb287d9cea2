"""``poseprior data`` through typer's CliRunner."""

import pytest
from typer.testing import CliRunner

from poseprior.cli.data import app
from poseprior.errors import FormatError

from .conftest import MINI_SPLITS

runner = CliRunner()


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["prepare", "--help"],
        ["prepare", "bandai", "--help"],
        ["prepare", "amass", "--help"],
        ["info", "--help"],
    ],
)
def test_help(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_prepare_bandai_and_info(mini_bandai, tmp_path):
    out = tmp_path / "prep"
    result = runner.invoke(
        app, ["prepare", "bandai", "--source", str(mini_bandai), "--out", str(out), "--workers", "1", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    for split, names in MINI_SPLITS.items():
        assert any(
            line.split("│")[1].strip() == split and line.split("│")[2].strip() == str(len(names))
            for line in result.output.splitlines()
            if "│" in line
        )
    assert "written to" in result.output and " s\n" in result.output
    result = runner.invoke(app, ["info", str(out)])
    assert result.exit_code == 0, result.output
    assert "bandai-v1" in result.output and "every 3 frames" in result.output and "right_wrist" in result.output


def test_info_on_an_incomplete_folder(tmp_path):
    result = runner.invoke(app, ["info", str(tmp_path)])
    assert result.exit_code != 0
    assert isinstance(result.exception, FormatError) and "re-run" in str(result.exception)


def test_missing_option():
    result = runner.invoke(app, ["prepare", "bandai", "--out", "x"])
    assert result.exit_code == 2 and "--source" in result.output
