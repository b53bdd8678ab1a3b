"""A token file whose token is not printable ASCII is refused at start, as an empty one is.

HTTP headers carry bytes read as latin-1: with ``pässwörd`` every request got 401, whether the
client sent the header as UTF-8 or as latin-1, and the service started as if protected by a
token nobody could present.
"""

import pytest

from serving.cli import main
from serving.service.config import read_token


@pytest.mark.parametrize("token", ["pässwörd", "s3cret\x07", "tab\tinside"])
def test_a_token_no_client_can_send_is_refused(tmp_path, token):
    path = tmp_path / "token"
    path.write_text(token + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"--token-file .*printable ASCII"):
        read_token(str(path))


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_refuses_it_before_starting(tmp_path, monkeypatch, capsys, workers):
    import uvicorn

    started = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: started.append(k))
    (tmp_path / "repo").mkdir()
    (tmp_path / "token").write_text("pässwörd\n", encoding="utf-8")
    code = main(["serve", "--repo", str(tmp_path / "repo"), "--token-file",
                 str(tmp_path / "token"), "--workers", workers, "--port", "8000"])  # fmt: skip
    assert code == 2 and "printable ASCII" in capsys.readouterr().err
    assert started == []


def test_a_spaced_ascii_token_still_reads(tmp_path):
    (tmp_path / "token").write_text("  s3cret word \r\n")
    assert read_token(str(tmp_path / "token")) == "s3cret word"
