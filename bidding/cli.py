"""The ``bidding`` command line (bidders and openers). Its commands arrive with the sealed-bid protocol."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bidding",
        description="投标人与开标人客户端 — the bidder's and opener's client. "
        "Sealing, submission and the opening are not available yet in this version.",
    )
    parser.add_argument(
        "--version", action="version", version="bidding 0.1.0 (protocol v1 not yet available)"
    )
    parser.parse_args(argv)
    parser.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
