"""The two plaintexts: the documents tar (deterministic, streamed, safely unpacked) and the opening form."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bidding.envelope import InvalidDocuments, InvalidPriceForm, decode_price_form, encode_price_form, extract_documents
from bidding.envelope.documents import collect_documents, documents_tar_bytes, write_documents_tar
from bidding.envelope.tarformat import pax_record
from tests.envelope import PRICE_FORM

LONG_NAME = "技术标/第三章 施工组织设计与进度计划/" * 4 + "附件一 施工进度横道图.pdf"


def tar_of(folder) -> bytes:
    out = bytearray()
    write_documents_tar(collect_documents(folder), out.extend)
    return bytes(out)


def test_a_folder_becomes_a_deterministic_tar(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.txt").write_bytes(b"zz")
    (tmp_path / "a.txt").write_bytes(b"a" * 513)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "b" / "报价.txt").write_bytes("壹佰万元".encode())
    data = tar_of(tmp_path)
    assert data == documents_tar_bytes(
        [("a.txt", b"a" * 513), ("b/z.txt", b"zz"), ("b/报价.txt", "壹佰万元".encode()), ("empty.txt", b"")]
    )
    os.utime(tmp_path / "a.txt", (1, 1))
    assert tar_of(tmp_path) == data  # mtimes do not matter
    assert data.endswith(bytes(1024)) and len(data) % 512 == 0
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = archive.getmembers()
        assert [m.name for m in members] == ["a.txt", "b/z.txt", "b/报价.txt", "empty.txt"]
        assert {(m.mode, m.mtime, m.uid, m.gid, m.uname, m.gname, m.type) for m in members} == {
            (0o644, 0, 0, 0, "", "", tarfile.REGTYPE)
        }
        assert archive.extractfile("b/报价.txt").read() == "壹佰万元".encode()


def test_long_and_non_ascii_names_use_pax_and_gnu_tar_reads_them(tmp_path):
    data = documents_tar_bytes([(LONG_NAME, b"pdf"), ("商务标.txt", b"x")])
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        assert archive.getnames() == [LONG_NAME, "商务标.txt"] or archive.getnames() == ["商务标.txt", LONG_NAME]
    if shutil.which("tar"):
        path = tmp_path / "docs.tar"
        path.write_bytes(data)
        listing = subprocess.run(["tar", "tf", str(path)], capture_output=True, check=True).stdout.decode()
        assert sorted(listing.split("\n")[:-1]) == sorted([LONG_NAME, "商务标.txt"])


def test_pax_record_length_counts_itself():
    for value in (b"", b"a" * 5, b"a" * 94, b"a" * 95, b"a" * 994, b"a" * 995):
        record = pax_record("path", value)
        assert int(record.split(b" ", 1)[0]) == len(record)


@pytest.mark.parametrize(
    "name", ["", "/etc/passwd", "a//b", "./a", "a/../b", "..", "a\\b", "a\nb", "a\x7f", "x" * 1025]
)
def test_unsafe_names_are_refused(name):
    with pytest.raises(InvalidDocuments):
        documents_tar_bytes([(name, b"x")])


def test_only_regular_files_and_unique_names(tmp_path):
    (tmp_path / "real.txt").write_bytes(b"x")
    with pytest.raises(InvalidDocuments):
        collect_documents([("a.txt", tmp_path / "real.txt"), ("a.txt", tmp_path / "real.txt")])
    with pytest.raises(InvalidDocuments):
        collect_documents([("a", tmp_path / "real.txt"), ("a/b", tmp_path / "real.txt")])
    with pytest.raises(InvalidDocuments):
        collect_documents([("dir", tmp_path)])
    with pytest.raises(InvalidDocuments):
        collect_documents([("gone", tmp_path / "missing.txt")])
    with pytest.raises(InvalidDocuments):
        collect_documents(tmp_path / "real.txt")
    (tmp_path / "link.txt").symlink_to(tmp_path / "real.txt")
    with pytest.raises(InvalidDocuments):
        collect_documents(tmp_path)


def test_a_file_that_changes_while_sealing_is_refused(tmp_path):
    path = tmp_path / "growing.bin"
    path.write_bytes(b"x" * 100)
    files = collect_documents([("growing.bin", path)])
    path.write_bytes(b"x" * 50)
    with pytest.raises(InvalidDocuments):
        write_documents_tar(files, lambda _: None)
    path.write_bytes(b"x" * 150)
    with pytest.raises(InvalidDocuments):
        write_documents_tar(files, lambda _: None)


def test_extraction_round_trip_and_refusals(tmp_path):
    data = documents_tar_bytes([("a/b.txt", b"1"), (LONG_NAME, b"2")])
    assert sorted(extract_documents([data[:700], data[700:]], tmp_path / "out")) == sorted(["a/b.txt", LONG_NAME])
    assert (tmp_path / "out" / "a" / "b.txt").read_bytes() == b"1"
    with pytest.raises(InvalidDocuments):
        extract_documents(io.BytesIO(data), tmp_path / "out")  # not empty
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w", format=tarfile.PAX_FORMAT) as archive:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(InvalidDocuments):
        extract_documents(io.BytesIO(evil.getvalue()), tmp_path / "evil")
    assert not (tmp_path / "escape.txt").exists()
    link = io.BytesIO()
    with tarfile.open(fileobj=link, mode="w") as archive:
        info = tarfile.TarInfo("link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        archive.addfile(info)
    with pytest.raises(InvalidDocuments):
        extract_documents(io.BytesIO(link.getvalue()), tmp_path / "link")


# --- the opening form ------------------------------------------------------------------------------------------


def test_opening_form_is_canonical_json():
    data = encode_price_form(PRICE_FORM)
    assert data == (
        '{"duration_days":365,"project_manager":"张建国","quality":"合格","total_price_fen":1286450000}'.encode()
    )
    assert decode_price_form(data) == PRICE_FORM


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({**PRICE_FORM, "total_price_fen": 12.5}, "total_price_fen"),
        ({**PRICE_FORM, "total_price_fen": "1286450000"}, "total_price_fen"),
        ({**PRICE_FORM, "total_price_fen": -1}, "total_price_fen"),
        ({**PRICE_FORM, "total_price_fen": 2**53}, "total_price_fen"),
        ({**PRICE_FORM, "total_price_fen": True}, "total_price_fen"),
        ({**PRICE_FORM, "duration_days": None}, "duration_days"),
        ({**PRICE_FORM, "quality": 1}, "quality"),
        ({**PRICE_FORM, "quality": "  "}, "quality"),
        ({k: v for k, v in PRICE_FORM.items() if k != "quality"}, "quality"),
        ({**PRICE_FORM, "Bad-Name": "x"}, "'Bad-Name'"),
        ({**PRICE_FORM, "note": ["a"]}, "note"),
        ({**PRICE_FORM, "note": "a\x00b"}, "note"),
        ({**PRICE_FORM, "note": "x" * 1001}, "note"),
    ],
)
def test_invalid_opening_forms_are_refused_with_the_field_named(form, field):
    with pytest.raises(InvalidPriceForm) as excinfo:
        encode_price_form(form)
    assert excinfo.value.details == {"field": field}
    assert field in excinfo.value.message_zh and field in excinfo.value.message_en


def test_required_extra_fields():
    with pytest.raises(InvalidPriceForm):
        encode_price_form(PRICE_FORM, price_fields=["safety_plan"])
    assert encode_price_form({**PRICE_FORM, "safety_plan": "有"}, price_fields=["safety_plan"])
    assert decode_price_form(encode_price_form({"total_price_fen": 5}, role="reserve"), role="reserve")


@settings(max_examples=50, deadline=None)
@given(
    price=st.integers(min_value=0, max_value=2**53 - 1),
    days=st.integers(min_value=0, max_value=10_000),
    quality=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=50).filter(
        str.strip
    ),
    extra=st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
        st.integers(min_value=0, max_value=10**12)
        | st.text(max_size=20).filter(
            lambda s: all(ord(c) >= 0x20 and c != "\x7f" and not 0xD800 <= ord(c) <= 0xDFFF for c in s)
        ),
        max_size=5,
    ),
)
def test_opening_forms_round_trip(price, days, quality, extra):
    form = {**extra, "total_price_fen": price, "duration_days": days, "quality": quality}
    assert decode_price_form(encode_price_form(form)) == form
