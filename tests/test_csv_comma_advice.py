"""A CSV with an unquoted thousands separator is refused with advice; every remedy the advice
offers must then work. "quote such values" did not: the quoted "1,234" is read as text and the
plan refuses it as not a number (the panel: "non-numeric values")."""

from serving.cli import main

FORECAST = "item_id,location_id,demand_mean,demand_std\na,FC1,10,3\nb,FC1,10,3\n"
HEADER = "item_id,location_id,on_hand,lead_time_mean,review_period\n"


def _plan(tmp_path, inventory: str, capsys) -> tuple[int, str]:
    (tmp_path / "fc.csv").write_text(FORECAST)
    (tmp_path / "inv.csv").write_text(HEADER + inventory)
    code = main(
        ["plan", "--forecast", str(tmp_path / "fc.csv"), "--inventory",
         str(tmp_path / "inv.csv"), "--out", str(tmp_path / "plan.csv")]
    )  # fmt: skip
    return code, capsys.readouterr().err


def test_every_remedy_of_the_comma_advice_works(tmp_path, capsys):
    code, err = _plan(tmp_path, "a,FC1,1,234,7,7\nb,FC1,5,7,7\n", capsys)
    assert code == 2 and "more fields than the header" in err
    advice = err.split(";", 1)[1]
    if "quote such values" in advice or "quote them" in advice:
        code, err = _plan(tmp_path, 'a,FC1,"1,234",7,7\nb,FC1,5,7,7\n', capsys)
        assert code == 0, f"following {advice.strip()!r} gave: {err.strip()}"
    assert "without commas" in advice
    code, err = _plan(tmp_path, "a,FC1,1234,7,7\nb,FC1,5,7,7\n", capsys)
    assert code == 0, err
