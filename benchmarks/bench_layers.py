"""Benchmark: companion's numpy layers against torch.nn, in one run, interleaved, medians.

    python benchmarks/bench_layers.py [--repeats N] [--size T B D H] [--json FILE] [--check]

Prints, for each case, the median time of companion and of torch.nn and their
ratio (companion / torch: below 1.0 means companion is faster). Both libraries
get the same number of threads (2 by default, --threads). Rounds alternate the
order of the contenders so that neither always runs on a warm cache.

``--check`` exits 1 when a ratio is above the floor set in issue #2 (the
floors are in FLOORS below). A benchmark, not a test: these machines are
shared and noisy, so run it on a quiet machine and read the medians.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

DEFAULT_SIZE = (100, 64, 64, 128)    # (T, B, D, H), issue #2

# case name -> highest acceptable ratio (companion / baseline), from issue #2
FLOORS = {
    "LSTM forward float64": 1.15,
    "LSTM forward+backward float64": 1.0,
    "LSTM forward float32": 2.2,
    "LSTM forward+backward float32": 1.6,
    "GRU forward+backward float64": 1.0,
    "LSTM forward+backward float64 vs torch LSTMCell loop": 1.0,
    "LSTM forward fused vs unfused": 1.0,
}


def _set_threads(n):
    # numpy's BLAS reads these at import; set them before importing numpy.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15, help="timed rounds per case (median)")
    ap.add_argument("--size", type=int, nargs=4, metavar=("T", "B", "D", "H"), default=DEFAULT_SIZE)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--check", action="store_true", help="exit 1 if a ratio is above its floor")
    args = ap.parse_args(argv)
    _set_threads(args.threads)

    import numpy as np
    import torch

    import companion

    torch.set_num_threads(args.threads)
    T, B, D, H = args.size
    rng = np.random.default_rng(0)

    def timeit(fn):
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    def compare(name, ours, theirs, baseline="torch.nn"):
        ours(), theirs()    # warm-up: allocations, oneDNN kernel selection
        a, b = [], []
        for r in range(args.repeats):
            if r % 2:
                b.append(timeit(theirs))
                a.append(timeit(ours))
            else:
                a.append(timeit(ours))
                b.append(timeit(theirs))
        ma, mb = statistics.median(a), statistics.median(b)
        return {"case": name, "companion_ms": ma * 1e3, "baseline_ms": mb * 1e3,
                "baseline": baseline, "ratio": ma / mb, "floor": FLOORS.get(name)}

    results = []

    def add(res):
        results.append(res)
        floor = res["floor"]
        verdict = "" if floor is None else ("  ok" if res["ratio"] <= floor else f"  ABOVE FLOOR {floor}")
        print(f"{res['case']:<55} {res['companion_ms']:9.2f} ms  {res['baseline']:<22} "
              f"{res['baseline_ms']:9.2f} ms  ratio {res['ratio']:.3f}{verdict}", flush=True)

    print(f"(T, B, D, H) = {(T, B, D, H)}, threads = {args.threads}, repeats = {args.repeats}, "
          f"numpy {np.__version__}, torch {torch.__version__}")

    def run_case(kind, tdtype, ndtype):
        # one function call per case, so the timed closures below bind this case's tensors
        torch.manual_seed(0)
        mod = getattr(torch.nn, kind)(D, H, dtype=tdtype)
        layer = companion.from_torch(mod, dtype=ndtype)
        x = rng.standard_normal((T, B, D)).astype(ndtype)
        dy = rng.standard_normal((T, B, H)).astype(ndtype)
        xt, dyt = torch.from_numpy(x), torch.from_numpy(dy)
        tag = np.dtype(ndtype).name

        def torch_fwd():
            with torch.no_grad():
                mod(xt)

        def torch_fwd_bwd():
            xg = xt.detach().requires_grad_(True)
            mod.zero_grad(set_to_none=True)
            out, _ = mod(xg)
            out.backward(dyt)

        def ours_fwd_bwd():
            layer(x)
            layer.backward(dy)

        add(compare(f"{kind} forward {tag}", lambda: layer(x), torch_fwd))
        add(compare(f"{kind} forward+backward {tag}", ours_fwd_bwd, torch_fwd_bwd))

        if kind == "LSTM" and ndtype == np.float64:
            cell = torch.nn.LSTMCell(D, H, dtype=tdtype)

            def torch_cell_loop():
                xg = xt.detach().requires_grad_(True)
                cell.zero_grad(set_to_none=True)
                h = torch.zeros(B, H, dtype=tdtype)
                c = torch.zeros(B, H, dtype=tdtype)
                outs = []
                for t in range(T):
                    h, c = cell(xg[t], (h, c))
                    outs.append(h)
                torch.stack(outs).backward(dyt)

            add(compare(f"LSTM forward+backward {tag} vs torch LSTMCell loop", ours_fwd_bwd,
                        torch_cell_loop, baseline="torch LSTMCell loop"))
            add(compare("LSTM forward fused vs unfused", lambda: layer(x),
                        lambda: layer.forward_unfused(x), baseline="companion unfused"))

    for kind, tdtype, ndtype in (("LSTM", torch.float64, np.float64), ("LSTM", torch.float32, np.float32),
                                 ("GRU", torch.float64, np.float64), ("RNN", torch.float64, np.float64)):
        run_case(kind, tdtype, ndtype)

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"size": [T, B, D, H], "threads": args.threads, "results": results}, f, indent=2)
    failed = [r["case"] for r in results if r["floor"] is not None and r["ratio"] > r["floor"]]
    if failed:
        print("above floor:", ", ".join(failed))
    return 1 if (args.check and failed) else 0


if __name__ == "__main__":
    sys.exit(main())
