"""A package given to a command that reads only training runs: the error's advice must not tell
it to use a flag that command does not have (``forecast interpret``, ``export`` and ``inspect
calibrate`` have no --package; following "use --package" failed with a usage error)."""

import argparse
import json
import re

from serving.cli import build_parser, main


def _options(*path: str) -> set[str]:
    parser = build_parser()
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return {o for a in parser._actions for o in a.option_strings}


def _package(tmp_path):
    folder = tmp_path / "models" / "tft" / "1"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"format": "stockcast.package/1"}))
    return folder


def _advice(capsys) -> str:
    err = capsys.readouterr().err
    return err[err.index("expected") :]


def test_package_given_to_run_only_commands_names_no_missing_flag(tmp_path, capsys):
    package = _package(tmp_path)
    (tmp_path / "panel.csv").write_text("item_id,location_id,date,demand\na,F,2024-01-01,1\n")
    cases = {
        ("forecast", "interpret"): [
            "forecast", "interpret", "--run", str(package), "--data",
            str(tmp_path / "panel.csv"), "--out", str(tmp_path / "interp"),
        ],
        ("export",): ["export", "--run", str(package), "--repo", str(tmp_path / "repo2")],
        ("inspect", "calibrate"): [
            "inspect", "calibrate", "--run", str(package), "--data", str(tmp_path),
        ],
    }  # fmt: skip
    for path, argv in cases.items():
        assert main(argv) == 2
        advice = _advice(capsys)
        assert "model package" in advice
        flags = set(re.findall(r"--[a-z][a-z-]+", advice))
        # Any flag the advice asks for in a plain "use --X" must be one this command has.
        asked = set(re.findall(r"use (--[a-z][a-z-]+)", advice))
        assert asked <= _options(*path), (path, advice)
        # The advice says the command needs the training run, not the package.
        assert "training run" in advice, (path, advice)
        assert flags <= _options("forecast", "predict") | _options("inspect", "score")


def test_run_given_as_package_advice_still_names_export(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"format": "stockcast.run/1"}))
    (tmp_path / "panel.csv").write_text("item_id,location_id,date,demand\na,F,2024-01-01,1\n")
    argv = ["forecast", "predict", "--package", str(run), "--data", str(tmp_path / "panel.csv"),
            "--out", str(tmp_path / "p.csv")]  # fmt: skip
    assert main(argv) == 2
    advice = _advice(capsys)
    assert "export" in advice and "--run" in advice
