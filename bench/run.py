"""`make bench`: runs every bench/bench_*.py module, prints a table, writes results.json."""

import importlib
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import BenchEnv  # noqa: E402


def main(argv):
    only = set(argv)
    modules = sorted(p.stem for p in (ROOT / "bench").glob("bench_*.py"))
    env = BenchEnv()
    rows, failed = [], []
    try:
        for name in modules:
            if only and name.removeprefix("bench_") not in only:
                continue
            print(f"bench: {name} ...", file=sys.stderr, flush=True)
            try:
                rows.extend(importlib.import_module(f"bench.{name}").run(env))
            except Exception as exc:  # one broken module must not hide every other row
                failed.append(name)
                print(f"bench: {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        env.close()
    (ROOT / "bench" / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
    width = max(len(r["name"]) for r in rows) if rows else 10
    print(f"{'name':<{width}}  {'value':>12}  {'unit':<10} {'baseline':>12}  {'ratio':>7}")
    for r in rows:
        baseline = "" if r["baseline"] is None else f"{r['baseline']:.1f}"
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}"
        print(
            f"{r['name']:<{width}}  {r['value']:>12.1f}  {r['unit']:<10} {baseline:>12}  {ratio:>7}"
        )
    if failed:
        print(f"bench: failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
