"""A CSV that is not UTF-8 is refused saying what it is and how to save it: the codec's own
words ("'utf-8' codec can't decode byte 0xff in position 0") named neither Excel's "Unicode
Text" (UTF-16) nor a Latin-1 export, nor what to do about it."""

import pytest

from kernels.io import FileError, read_table

TEXT = "item_id\tlocation_id\ton_hand\nCaf\u00e9\tFC1\t5\n"


def test_utf16_unicode_text_is_named(tmp_path):
    path = tmp_path / "inventory.csv"
    path.write_bytes(TEXT.encode("utf-16"))  # Excel's "Unicode Text": UTF-16 with a BOM, tabs
    with pytest.raises(FileError, match=r"UTF-16 text.*save it as 'CSV UTF-8"):
        read_table(path, text=("item_id", "location_id"))


def test_latin1_is_named(tmp_path):
    path = tmp_path / "inventory.csv"
    path.write_bytes(TEXT.replace("\t", ",").encode("latin-1"))
    with pytest.raises(FileError, match=r"not UTF-8 text: byte 0xe9.*Latin-1.*CSV UTF-8"):
        read_table(path, text=("item_id", "location_id"))
