"""``bidding reserve``: trading-centre staff seal a reserve (标底) or control price (最高投标限价) on their own
machine and submit it before the deadline; it opens with the bids (bidding.reserve, docs/envelope.md §11).

    bidding keygen --out centre.pem            # once: the staff member's signing key
    bidding reserve register --key centre.pem  # registered to my trading centre
    bidding fetch 12 --out section.json        # the committee, checked against the published notice
    bidding reserve seal --section section.json --key centre.pem --price-fen 4800000000 --out ceiling.bid
    bidding reserve submit ceiling.bid 12 --kind ceiling
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bidding.cli import (
    Failure,
    b64,
    context_from_section,
    load_section,
    load_signing_key,
    local_time,
    make_client,
    raw_public,
    say,
    warn_if_deadline_passed,
    yuan,
)

KINDS = {"ceiling": "最高投标限价", "reserve": "标底"}


def cmd_register(args: argparse.Namespace) -> int:
    from bidding.client import ApiError

    key = load_signing_key(Path(args.key), args)
    public = b64(raw_public(key))
    with make_client(args) as client:
        try:
            row = client.register_centre_key(public, args.label)
        except ApiError as exc:
            if exc.code != "duplicate_key":
                raise
            say("该公钥已经登记", "this key is already registered")
        else:
            say(f"交易中心签名公钥已登记（编号 {row['id']}）", f"centre signing key registered (id {row['id']})")
    print(public)
    return 0


def cmd_seal(args: argparse.Namespace) -> int:
    import msgspec

    from bidding.envelope import seal_bid

    section = load_section(Path(args.section))
    tenderer = section.get("tenderer_credit_code")
    if not tenderer:
        raise Failure(
            "标段参数中没有招标人的统一社会信用代码，请用新版平台重新 bidding fetch",
            "The section file names no tenderer credit code: fetch it again",
            code="no_tenderer",
        )
    if args.price_fen <= 0:
        raise Failure("金额须为正整数（分）", "The price must be a positive number of fen", code="bad_price")
    out = Path(args.out)
    if out.exists() and not args.force:
        raise Failure(f"{out} 已存在；如确需覆盖请加 --force", f"{out} exists (add --force)", code="exists")
    warn_if_deadline_passed(section)
    key = load_signing_key(Path(args.key), args)
    context = msgspec.structs.replace(context_from_section(section, tenderer), role="reserve")
    form: dict[str, Any] = {"total_price_fen": args.price_fen, "kind": KINDS[args.kind]}
    info = seal_bid(context, key, form, [], out)
    say(f"已密封{KINDS[args.kind]}：{yuan(args.price_fen)} → {out}", f"sealed {args.kind} price written to {out}")
    say(f"清单哈希 / manifest SHA-256: {info.manifest_hash}")
    say(
        f"开标前无人能读；请在 {local_time(section.get('deadline_at'))} 前用 bidding reserve submit 递交",
        "nobody can read it before the opening; submit it before the deadline with `bidding reserve submit`",
    )
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    from bidding.envelope import read_sealed_bid

    sealed = read_sealed_bid(Path(args.file))
    body = {
        "kind": args.kind,
        "manifest": b64(sealed.manifest_bytes),
        "signature": b64(sealed.signature),
        "sealed_shares": {e: [b64(x) for x in v] for e, v in sealed.sealed_shares.items()},
        "ciphertexts": {e: b64(b"".join(sealed.iter_ciphertext(e))) for e in ("price", "documents")},
    }
    with make_client(args) as client:
        row = client.submit_reserve(args.section_id, body)
        listed = client.reserve_prices(args.section_id)
    say(
        f"{row['kind_zh']}已密封递交（{local_time(row['received_at'])}），开标时与投标一并解密",
        f"the sealed {args.kind} price is in; it opens with the bids",
    )
    replaced = [r for r in listed if r["state"] == "replaced"]
    if replaced:
        say(f"此前递交的 {len(replaced)} 份已被替换", f"{len(replaced)} earlier one(s) replaced")
    say(f"清单哈希 / manifest SHA-256: {row['manifest_sha256']}")
    return 0


def add_commands(commands: Any, command: Any, passphrase_option: Any, *, parents: list[Any]) -> None:
    """``bidding reserve register|seal|submit`` (called by bidding.cli.build_parser)."""
    reserve = commands.add_parser("reserve", help="标底/最高投标限价（交易中心）/ reserve prices", parents=parents)
    sub = reserve.add_subparsers(dest="reserve_command", metavar="COMMAND", required=True)
    p = command("register", cmd_register, "登记交易中心签名公钥 / register my centre's signing key", sub=sub)
    p.add_argument("--key", required=True, metavar="centre.pem")
    p.add_argument("--label", default="", help="备注 / label")
    passphrase_option(p)
    p = command("seal", cmd_seal, "在本机密封标底（离线）/ seal a reserve price (offline)", sub=sub)
    p.add_argument("--section", required=True, metavar="section.json")
    p.add_argument("--key", required=True, metavar="centre.pem")
    p.add_argument("--price-fen", required=True, type=int, help="金额（分）/ the figure in fen")
    p.add_argument("--kind", choices=sorted(KINDS), default="ceiling", help="ceiling=最高投标限价, reserve=标底")
    p.add_argument("--out", required=True, metavar="reserve.bid")
    p.add_argument("--force", action="store_true")
    passphrase_option(p)
    p = command("submit", cmd_submit, "递交密封的标底 / submit the sealed reserve price", sub=sub)
    p.add_argument("file", metavar="reserve.bid")
    p.add_argument("section_id", type=int, metavar="SECTION_ID")
    p.add_argument("--kind", choices=sorted(KINDS), default="ceiling", help="ceiling=最高投标限价, reserve=标底")
