"""Print, and optionally check, the numerical configuration that numpy (and torch) run with.

`make test-notebooks-alt` re-runs nbval under a second configuration (another OpenBLAS kernel,
one thread) to prove that no stored output depends on the machine's arithmetic. This script
runs first, in the same environment as the notebooks' kernels, so that the run cannot
silently test the first configuration twice:

    python scripts/blas_config.py                       # print the BLAS libraries in use
    python scripts/blas_config.py --threads 1 --coretype Prescott   # and check them
"""
from __future__ import annotations

import argparse
import sys

# OpenBLAS reports some kernels under another name: OPENBLAS_CORETYPE=Prescott runs the
# generic SSE3 kernels, shown as "Katmai" by the OpenBLAS builds numpy ships.
ALIASES = {"prescott": {"prescott", "katmai"}, "armv8": {"armv8", "cortexa53", "generic"}}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, help="every BLAS/OpenMP pool must run this many threads")
    ap.add_argument("--coretype", help="the OpenBLAS kernel numpy must run (as OPENBLAS_CORETYPE)")
    args = ap.parse_args(argv)

    import numpy  # noqa: F401  (loads numpy's BLAS, which threadpoolctl then finds)
    try:
        import torch  # noqa: F401  (and torch's OpenMP pool, as the chapters use both)
    except ImportError:
        pass
    from threadpoolctl import threadpool_info

    pools = threadpool_info()
    problems = []
    for p in pools:
        print(f"{p['internal_api']:9s} {p.get('architecture') or '-':12s} threads={p['num_threads']}  "
              f"{p['filepath'].rsplit('/', 1)[-1]}")
        if args.threads is not None and p["num_threads"] != args.threads:
            problems.append(f"{p['internal_api']} runs {p['num_threads']} threads, expected {args.threads}")
    if args.coretype:
        want = ALIASES.get(args.coretype.lower(), {args.coretype.lower()})
        openblas = [p for p in pools if p["internal_api"] == "openblas"]
        if not openblas:
            print("note: numpy does not use OpenBLAS here; only the thread count is changed")
        for p in openblas:
            if str(p.get("architecture", "")).lower() not in want:
                problems.append(f"OpenBLAS runs the {p.get('architecture')} kernel, expected "
                                f"{args.coretype} (is OPENBLAS_CORETYPE set for this command?)")
    for msg in problems:
        print("error:", msg, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
