"""What the server refuses before accepting a bid, and the sealed bid file's container, read two ways."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import subprocess
import tarfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bidding.envelope import (
    SUITE_HYBRID,
    SUITE_X25519,
    ArchiveEnd,
    BadSignature,
    CiphertextData,
    CiphertextEnd,
    CiphertextMismatch,
    EnvelopeError,
    HeadReceived,
    InvalidContext,
    Malformed,
    SealedBidParser,
    SealedSharesMismatch,
    UnsupportedFormat,
    UnsupportedSuite,
    WrongBidder,
    WrongCommittee,
    WrongSection,
    check_ciphertext,
    check_submission,
    decode_sealed_shares,
    encode_sealed_shares,
    manifest_hash,
    parse_manifest,
    read_sealed_bid,
    seal_bid,
    verify_ciphertext_stream,
)
from bidding.envelope.container import write_container
from bidding.envelope.tarformat import END_OF_ARCHIVE, member_header, padding
from tests.envelope import PRICE_FORM, make_committee, make_context, new_signing_key


@pytest.fixture(scope="module")
def committee():
    return make_committee(SUITE_X25519, 2, 3)


@pytest.fixture(scope="module")
def sealed(committee, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bid")
    (folder / "docs").mkdir()
    (folder / "docs" / "投标函.txt").write_bytes("投标函\n".encode() * 1000)
    context = make_context(committee)
    signing_key = new_signing_key()
    out = folder / "bid.bid"
    info = seal_bid(context, signing_key, PRICE_FORM, folder / "docs", out, chunk_size=1024)
    return context, signing_key, out, info


def check(sealed, *, manifest_bytes=None, signature=None, shares=None, context=None, key=None):
    context0, signing_key, out, _info = sealed
    bid = read_sealed_bid(out)
    return check_submission(
        manifest_bytes if manifest_bytes is not None else bid.manifest_bytes,
        signature if signature is not None else bid.signature,
        shares if shares is not None else bid.sealed_shares,
        context if context is not None else context0,
        key if key is not None else signing_key.public_key(),
    )


def resigned(sealed, edit):
    """The manifest edited as a dict (or as text), re-encoded canonically and re-signed by the bidder's key."""
    _, signing_key, _, info = sealed
    value = json.loads(info.manifest_bytes)
    edited = edit(value)
    data = (
        edited
        if isinstance(edited, bytes)
        else json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    )
    return data, signing_key.sign(data)


def test_a_good_submission_is_accepted(sealed):
    manifest = check(sealed)
    assert manifest.section_id == 4301 and manifest.committee.k == 2
    assert manifest_hash(sealed[3].manifest_bytes) == hashlib.sha256(sealed[3].manifest_bytes).hexdigest()
    assert check(sealed, shares=read_sealed_bid(sealed[2]).shares_json) == manifest  # shares.json bytes also do
    assert check(sealed, key=sealed[1].public_key().public_bytes_raw()) == manifest


def test_a_manifest_signed_by_another_key_is_refused(sealed):
    other = new_signing_key()
    with pytest.raises(BadSignature) as excinfo:
        check(sealed, key=other.public_key())
    assert excinfo.value.code == "envelope.bad_signature"
    with pytest.raises(BadSignature):
        check(sealed, signature=other.sign(sealed[3].manifest_bytes), key=other.public_key())  # names the bidder's key
    with pytest.raises(BadSignature):
        check(sealed, signature=bytes(64))
    with pytest.raises(BadSignature):
        check(sealed, signature=b"short")
    tampered = sealed[3].manifest_bytes.replace(b'"section_id":4301', b'"section_id":4302')
    with pytest.raises(BadSignature):
        check(sealed, manifest_bytes=tampered)


def test_a_manifest_for_another_section_is_refused(sealed, committee):
    for change in ({"section_id": 99}, {"section_code": "A4301002026000123002"}, {"trade_code": "A4301002026000999"}):
        with pytest.raises(WrongSection) as excinfo:
            check(sealed, context=make_context(committee, **change))
        assert excinfo.value.to_dict()["error"]["code"] == "envelope.wrong_section"


def test_a_manifest_for_another_bidder_or_role_is_refused(sealed, committee):
    with pytest.raises(WrongBidder):
        check(sealed, context=make_context(committee, bidder_credit_code="91430100MA4L9Z8W7V"))
    with pytest.raises(WrongBidder):
        check(sealed, context=make_context(committee, role="reserve"))


def test_a_manifest_for_another_committee_is_refused(sealed, committee):
    with pytest.raises(WrongCommittee):
        check(sealed, context=make_context(make_committee(SUITE_X25519, 2, 3)))
    with pytest.raises(WrongCommittee):
        check(sealed, context=make_context(committee, k=3))
    with pytest.raises(WrongCommittee):
        hybrid = make_committee(SUITE_HYBRID, 2, 3)
        check(sealed, context=make_context(hybrid))


def test_sealed_shares_must_be_the_ones_the_manifest_names(sealed):
    shares = read_sealed_bid(sealed[2]).sealed_shares
    swapped = {"price": (shares["price"][1], shares["price"][0], shares["price"][2]), "documents": shares["documents"]}
    with pytest.raises(SealedSharesMismatch) as excinfo:
        check(sealed, shares=swapped)
    assert excinfo.value.details == {"envelope": "price", "index": 1}
    crossed = {"price": shares["documents"], "documents": shares["price"]}
    with pytest.raises(SealedSharesMismatch):
        check(sealed, shares=crossed)
    with pytest.raises(Malformed):
        check(sealed, shares={"price": shares["price"][:2], "documents": shares["documents"]})
    with pytest.raises(Malformed):
        check(sealed, shares={"price": shares["price"]})
    with pytest.raises(Malformed):
        check(
            sealed, shares={"price": (shares["price"][0][:-1], *shares["price"][1:]), "documents": shares["documents"]}
        )
    assert decode_sealed_shares(encode_sealed_shares(shares)) == shares
    with pytest.raises(Malformed):
        decode_sealed_shares(b'{"price":["not base64!"],"documents":[]}')


def _set(path, value):
    def edit(manifest):
        target = manifest
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return manifest

    return edit


@pytest.mark.parametrize(
    ("edit", "error"),
    [
        (lambda m: json.dumps(m, ensure_ascii=False, sort_keys=True).encode(), Malformed),  # spaces: not canonical
        (lambda m: json.dumps({**m, "trade_code": "招标"}, sort_keys=True, separators=(",", ":")).encode(), Malformed),
        (_set(["format"], "trading-bid/v2"), UnsupportedFormat),
        (_set(["suite"], "sm2-sm3-sm4"), UnsupportedSuite),
        (_set(["extra"], 1), Malformed),
        (_set(["section_id"], "4301"), Malformed),
        (_set(["committee", "k"], 4), Malformed),
        (_set(["committee", "opener_keys_sha256"], ["00" * 32]), Malformed),
        (_set(["envelopes", "price", "chunk_size"], 0), Malformed),
        (_set(["envelopes", "price", "ciphertext_size"], 15), Malformed),
        (_set(["envelopes", "price", "ciphertext_size"], 10**9), Malformed),
        (_set(["envelopes", "price", "key_commitment"], "AB" * 32), Malformed),
        (_set(["envelopes", "price", "share_commitments"], ["00" * 32] * 2), Malformed),
        (_set(["envelopes", "documents", "sealed_shares_sha256"], ["zz" * 32] * 3), Malformed),
        (_set(["envelopes", "extra"], {}), Malformed),
        (_set(["nonce"], base64.b64encode(b"short").decode()), Malformed),
        (_set(["sealed_at"], "2026-03-02 09:00"), Malformed),
        (_set(["trade_code"], ""), Malformed),
        (lambda m: b"[]", Malformed),
        (lambda m: b'{"format":"trading-bid/v1","format":"trading-bid/v1"}', Malformed),
        (lambda m: b"\xff", Malformed),
        (lambda m: b" " * 70_000, Malformed),
    ],
)
def test_malformed_manifests_are_refused_even_when_signed(sealed, edit, error):
    data, signature = resigned(sealed, edit)
    with pytest.raises(error) as excinfo:
        check(sealed, manifest_bytes=data, signature=signature)
    assert isinstance(excinfo.value, EnvelopeError)
    assert excinfo.value.code.startswith("envelope.")
    assert excinfo.value.message_zh and excinfo.value.message_en


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (_set(["section_id"], "4301"), "字段 section_id：应为整数，实际为文本"),
        (_set(["extra"], 1), "含有未知字段 extra"),
    ],
)
def test_a_malformed_manifest_is_explained_in_chinese(sealed, edit, said):
    """The bidder reads what is wrong in Chinese (not msgspec's English) and in English."""
    data, signature = resigned(sealed, edit)
    with pytest.raises(Malformed) as excinfo:
        check(sealed, manifest_bytes=data, signature=signature)
    assert said in excinfo.value.message_zh and "Expected" not in excinfo.value.message_zh, excinfo.value.message_zh
    assert "manifest is not valid" in excinfo.value.message_en


def test_ciphertext_hash_and_size_are_checked(sealed):
    manifest = check(sealed)
    bid = read_sealed_bid(sealed[2])
    for envelope in ("price", "documents"):
        digest, size = verify_ciphertext_stream(bid.iter_ciphertext(envelope, block_size=333))
        check_ciphertext(manifest, envelope, digest, size)
    with pytest.raises(CiphertextMismatch):
        check_ciphertext(manifest, "price", digest, size)


# --- the container -------------------------------------------------------------------------------------------


def test_standard_tar_readers_list_the_five_members(sealed):
    with tarfile.open(sealed[2]) as archive:
        assert archive.getnames() == ["manifest.json", "manifest.sig", "shares.json", "price.bin", "documents.bin"]
        assert archive.extractfile("manifest.json").read() == sealed[3].manifest_bytes
        assert all(m.mtime == 0 and m.mode == 0o644 and m.isreg() for m in archive.getmembers())
    if shutil.which("tar"):
        listing = subprocess.run(["tar", "tf", str(sealed[2])], capture_output=True, text=True, check=True).stdout
        assert listing.split() == ["manifest.json", "manifest.sig", "shares.json", "price.bin", "documents.bin"]


def test_the_parser_gives_the_same_result_whatever_the_pieces(sealed):
    data = sealed[2].read_bytes()
    bid = read_sealed_bid(sealed[2])
    for piece in (1, 511, 512, 4096, len(data)):
        parser = SealedBidParser()
        events = []
        for i in range(0, len(data), piece):
            events += parser.feed(data[i : i + piece])
        parser.close()
        head = events[0]
        assert isinstance(head, HeadReceived)
        assert (head.manifest_bytes, head.signature, head.sealed_shares) == (
            bid.manifest_bytes,
            bid.signature,
            bid.sealed_shares,
        )
        ends = [e for e in events if isinstance(e, CiphertextEnd)]
        manifest = check(sealed)
        for end in ends:
            check_ciphertext(manifest, end.envelope, end.sha256, end.size)
        for envelope in ("price", "documents"):
            streamed = b"".join(e.data for e in events if isinstance(e, CiphertextData) and e.envelope == envelope)
            assert streamed == b"".join(bid.iter_ciphertext(envelope))
        assert isinstance(events[-1], ArchiveEnd)


def test_a_truncated_upload_is_refused(sealed):
    data = sealed[2].read_bytes()
    for cut in (0, 100, 512, len(data) // 2, len(data) - 1024, len(data) - 1):
        parser = SealedBidParser()
        parser.feed(data[:cut])
        with pytest.raises(Malformed):
            parser.close()
        with pytest.raises(Malformed):
            read_sealed_bid(io.BytesIO(data[:cut]))


def test_trailing_data_is_refused_but_zero_padding_is_not(sealed):
    data = sealed[2].read_bytes()
    read_sealed_bid(io.BytesIO(data + bytes(9216)))
    parser = SealedBidParser()
    parser.feed(data + bytes(9216))
    parser.close()
    with pytest.raises(Malformed):
        read_sealed_bid(io.BytesIO(data + b"x"))
    with pytest.raises(Malformed):
        SealedBidParser().feed(data + b"x")


def build(members):
    out = b""
    for name, body in members:
        out += member_header(name, len(body)) + body + padding(len(body))
    return out + END_OF_ARCHIVE


def test_members_out_of_order_or_unexpected_are_refused(sealed):
    bid = read_sealed_bid(sealed[2])
    price = b"".join(bid.iter_ciphertext("price"))
    docs = b"".join(bid.iter_ciphertext("documents"))
    good = [
        ("manifest.json", bid.manifest_bytes),
        ("manifest.sig", bid.signature),
        ("shares.json", bid.shares_json),
        ("price.bin", price),
        ("documents.bin", docs),
    ]
    assert read_sealed_bid(io.BytesIO(build(good))).manifest_bytes == bid.manifest_bytes
    variants = [
        [good[1], good[0], *good[2:]],
        good[:4],
        [*good, ("extra.txt", b"hello")],
        [good[0], ("manifest.sig", b"x" * 63), *good[2:]],
        [("../manifest.json", bid.manifest_bytes), *good[1:]],
    ]
    for members in variants:
        data = build(members)
        with pytest.raises(Malformed):
            read_sealed_bid(io.BytesIO(data))
        parser = SealedBidParser()
        with pytest.raises(Malformed):
            parser.feed(data)
            parser.close()
    corrupt = bytearray(build(good))
    corrupt[148] ^= 1  # header checksum
    with pytest.raises(Malformed):
        read_sealed_bid(io.BytesIO(bytes(corrupt)))


def test_oversized_documents_are_refused_from_the_header(sealed):
    data = sealed[2].read_bytes()
    parser = SealedBidParser(max_documents_size=1000)
    with pytest.raises(Malformed):
        parser.feed(data)
    with pytest.raises(Malformed):
        read_sealed_bid(sealed[2], max_documents_size=1000)


def test_huge_members_use_a_pax_size_record():
    header = member_header("documents.bin", 10 * 2**30)
    assert len(header) == 3 * 512 and b" size=10737418240\n" in header
    with tarfile.open(fileobj=io.BytesIO(header), mode="r|") as archive:
        member = archive.next()
        assert (member.name, member.size) == ("documents.bin", 10 * 2**30)


def test_write_container_copies_exactly(sealed):
    bid = read_sealed_bid(sealed[2])
    docs = b"".join(bid.iter_ciphertext("documents"))
    out = io.BytesIO()
    size = write_container(
        out,
        manifest_bytes=bid.manifest_bytes,
        signature=bid.signature,
        shares_json=bid.shares_json,
        price_ciphertext=b"".join(bid.iter_ciphertext("price")),
        documents_ciphertext=io.BytesIO(docs),
        documents_size=len(docs),
    )
    assert out.getvalue() == sealed[2].read_bytes() and size == len(out.getvalue())
    with pytest.raises(ValueError):
        write_container(
            io.BytesIO(),
            manifest_bytes=b"{}",
            signature=bytes(64),
            shares_json=b"{}",
            price_ciphertext=bytes(16),
            documents_ciphertext=io.BytesIO(b"x"),
            documents_size=2,
        )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_files_only_ever_give_malformed(sealed, data):
    original = sealed[2].read_bytes()
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        position = data.draw(st.integers(min_value=0, max_value=len(damaged) - 1))
        damaged[position] = data.draw(st.integers(min_value=0, max_value=255))
    cut = data.draw(st.integers(min_value=0, max_value=len(damaged)))
    blob = bytes(damaged[:cut])
    try:
        read_sealed_bid(io.BytesIO(blob))
    except Malformed:
        pass
    parser = SealedBidParser()
    try:
        parser.feed(blob)
        parser.close()
    except Malformed:
        pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_manifests_only_ever_give_envelope_errors(sealed, data):
    manifest = bytearray(sealed[3].manifest_bytes)
    position = data.draw(st.integers(min_value=0, max_value=len(manifest) - 1))
    manifest[position] = data.draw(st.integers(min_value=0, max_value=255))
    try:
        parse_manifest(bytes(manifest))
    except EnvelopeError:
        pass


@pytest.mark.parametrize(
    "change",
    [
        {"k": 0},
        {"k": 4},
        {"n": 2},
        {"section_id": -1},
        {"trade_code": ""},
        {"section_code": "A\n1"},
        {"bidder_credit_code": "9" * 129},
        {"role": "staff"},
    ],
)
def test_impossible_contexts_are_refused(committee, change):
    with pytest.raises(InvalidContext):
        make_context(committee, **change).validate()


def test_committee_keys_must_be_valid_and_distinct(committee):
    keys = committee.public_keys
    with pytest.raises(InvalidContext):
        make_context(committee, opener_keys=(keys[0], keys[0], keys[2])).validate()
    with pytest.raises(InvalidContext):
        make_context(committee, opener_keys=(keys[0], keys[1], keys[2][:-1])).validate()
    with pytest.raises(UnsupportedSuite):
        make_context(committee, suite="hpke-p256-sha256-aes128gcm").validate()
    assert make_context(committee).validate().n == 3


@pytest.mark.parametrize("spelling", [b"0o0000644", b"+000644", b"0_00644", b"0000689"])
def test_tar_numbers_are_plain_octal_digits(spelling):
    from bidding.envelope.tarformat import TarFormatError, _parse_octal

    with pytest.raises(TarFormatError):
        _parse_octal(spelling + b"\0", "size")
    assert _parse_octal(b" 0000644\0", "size") == 0o644


@pytest.mark.parametrize("record", [b"+12 size=100\n", b"1_2 size=10\n", b" 12 size=10\n"])
def test_pax_lengths_are_plain_decimal_digits(record):
    from bidding.envelope.tarformat import TarFormatError, parse_pax_records

    with pytest.raises(TarFormatError):
        parse_pax_records(record)
    assert parse_pax_records(b"12 size=100\n") == {"size": b"100"}


def test_a_pax_size_is_plain_decimal_digits():
    from bidding.envelope.container import _member_from

    with pytest.raises(Malformed):
        _member_from("documents.bin", 0, b"0", {"size": b"1_000"})
    assert _member_from("documents.bin", 0, b"0", {"size": b"1000"}) == ("documents.bin", 1000)
