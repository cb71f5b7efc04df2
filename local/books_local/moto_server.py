"""The local stack's moto: ``moto.server`` with DynamoDB transactions made isolated and cheap first
(:mod:`books_local.moto_transactions`). Same arguments as ``python -m moto.server``."""

from __future__ import annotations

import sys

from books_local import moto_transactions


def main(argv: list[str]) -> None:
    moto_transactions.install()
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
