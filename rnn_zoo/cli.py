"""The `rnn-zoo` command line. User mistakes print one line on stderr and exit 2."""
from __future__ import annotations

import argparse
import ast
import sys


def _parse_set(items: list[str]) -> dict:
    """--set key=value pairs; values are Python literals (3, 0.2, [64, 64], True) or strings."""
    overrides = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ValueError(f"--set expects key=value, got {item!r}")
        try:
            overrides[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[key] = value
    return overrides


def _cmd_list(args) -> None:
    import rnn_zoo

    rows = [(n, (s := rnn_zoo.get_task(n)).family, s.model.cell, s.description) for n in rnn_zoo.list_tasks(args.pattern)]
    width = max((len(r[0]) for r in rows), default=4)
    print(f"{'name':<{width}}  {'family':<7}  {'cell':<10}  description")
    for name, family, cell, description in rows:
        print(f"{name:<{width}}  {family:<7}  {cell:<10}  {description}")


def _cmd_train(args) -> None:
    import rnn_zoo

    result = rnn_zoo.train(
        args.name, epochs=args.epochs, batch_size=args.batch_size, data_dir=args.data_dir,
        seed=args.seed, verbose=args.verbose, **_parse_set(args.set),
    )
    print(f"{args.name}: trained in {result.wall_time_s:.1f} s")
    for key, value in result.test_metrics.items():
        print(f"  test {key}: {value:.6g}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rnn-zoo", description="Classic RNN tutorials as reproducible baselines.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="list the registered tasks")
    p.add_argument("pattern", nargs="?", help="fnmatch filter, e.g. 'stock_*'")
    p.set_defaults(func=_cmd_list)
    p = sub.add_parser("train", help="train a task and print its test metrics")
    p.add_argument("name")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--data-dir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verbose", type=int, default=1, help="0 silent, 1 progress bar, 2 one line per epoch")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="model override, repeatable")
    p.set_defaults(func=_cmd_train)
    args = parser.parse_args(argv)

    from .errors import RnnZooError

    try:
        args.func(args)
    except (RnnZooError, ValueError) as e:
        print(f"rnn-zoo: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
