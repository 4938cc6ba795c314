"""Speed of annt against its own plain-NumPy reference, and the machine's throughput.

Measures, in one process on this machine:
  (a) the ANNT article's MNIST model (GRU 28 -> 56, Dense 10, softmax
      cross-entropy at every step, Adam), batch 48, T = 28: one training step
      (and the epoch of 50,000 samples it implies) and one inference forward pass;
  (b) an LSTM 64 -> 128 (Dense 10, softmax), batch 64, T = 100: training step
      and inference;
  (c) an Elman RNN 32 -> 32 on one sequence, fed one step at a time
      (annt.NetworkInference.step),
for two implementations of the same model, both annt's own:
  * annt (Numba kernels),
  * the plain-NumPy reference (annt's layers with backend="numpy").
Both run in this process: they are the same library, so neither can change
the other's settings. PyTorch is compared in ``bench_fair.py``, where every
library runs in its own fresh process (a library imported into the same
process can change how another runs: see that file).

Each time is also given as achieved GFLOP/s, counting only the matrix products
of the model (forward 2 N T (D + H) G per recurrent layer with G = gates * H,
plus 2 N T H K for the Dense layer; backward about twice the forward), next to
the float32 matrix-product throughput of this machine measured in the same run
(np.dot on one BLAS thread, at 1024^3 and at the models' small shapes).

In subprocesses it also times ``import annt`` plus the first training call of
the MNIST model, warm (Numba's on-disk cache populated) and cold (a fresh,
empty NUMBA_CACHE_DIR: everything compiles).

The implementations are timed interleaved (best of several repeats) so that
a burst of load on a shared machine hits both alike.

    python benchmarks/bench_speed.py [--quick] [--no-numpy] [--no-compile]

The functions are importable (the chapter "How annt is made fast" calls them).
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
import annt  # noqa: E402

from threadpoolctl import threadpool_limits  # noqa: E402

EPOCH_SAMPLES = 50_000
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}

# name: (cell, N, T, D, H, K); K = 0 means no Dense layer
CASES = {
    "mnist": ("GRU", 48, 28, 28, 56, 10),
    "lstm": ("LSTM", 64, 100, 64, 128, 10),
    "step": ("RNN", 1, 1000, 32, 32, 0),
}
QUICK_STEPS = 200          # --quick: fewer steps for the step-by-step case


# ---------------------------------------------------------------- helpers
def best_time(fn, number=1, repeats=3):
    """Best over ``repeats`` of the mean time of ``number`` calls of fn()."""
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def interleaved(fns, number, repeats):
    """Time several callables round-robin (a load spike then hits all of them
    alike); returns {name: best seconds per call}."""
    best = {name: math.inf for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(number[name] if isinstance(number, dict) else number):
                fn()
            n = number[name] if isinstance(number, dict) else number
            best[name] = min(best[name], (time.perf_counter() - t0) / n)
    return best


def matmul_seconds(m, k, n, dtype=np.float32, threads=1, min_time=0.05, repeats=3, seed=0):
    """Best time of one ``np.dot`` of (m, k) @ (k, n) into a preallocated output,
    with BLAS limited to ``threads`` threads."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    c = np.empty((m, n), dtype)
    with threadpool_limits(threads, user_api="blas"):
        np.dot(a, b, c)
        t0 = time.perf_counter()                  # calibrate the number of calls
        calls = 0
        while time.perf_counter() - t0 < min_time / 5:
            np.dot(a, b, c)
            calls += 1
        per = (time.perf_counter() - t0) / calls
        number = max(1, int(min_time / per))
        return best_time(lambda: np.dot(a, b, c), number, repeats)


def matmul_gflops(m, k, n, dtype=np.float32, threads=1, min_time=0.05, repeats=3):
    """Achieved GFLOP/s of np.dot at (m, k) @ (k, n) (2 m k n FLOPs)."""
    return 2 * m * k * n / matmul_seconds(m, k, n, dtype, threads, min_time, repeats) / 1e9


def model_flops(cell, N, T, D, H, K):
    """Matrix-product FLOPs of one forward pass: 2 N T (D + H) G for the
    recurrent layer (G = gates * H) and 2 N T H K for the Dense layer."""
    G = GATES[cell] * H
    return 2 * N * T * (D + H) * G + 2 * N * T * H * K


def train_flops(cell, N, T, D, H, K):
    """Forward plus backward (about twice the forward's products)."""
    return 3 * model_flops(cell, N, T, D, H, K)


def make_data(N, T, D, K, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(N, T, D)).astype(np.float32)
    Y = rng.integers(0, max(K, 1), size=(N, T))       # a class target at every step
    return X, Y


def annt_net(cell, D, H, K, backend):
    annt.set_seed(0)
    layer = getattr(annt, cell)(D, H, backend=backend)
    layers = [layer] + ([annt.Dense(H, K), annt.Softmax()] if K else [])
    return annt.Network(layers)


def annt_callables(cell, N, T, D, H, K, backend):
    """(train_step, infer) for annt with the given backend."""
    X, Y = make_data(N, T, D, K)
    net = annt_net(cell, D, H, K, backend)
    trainer = annt.NetworkTraining(net, annt.CrossEntropy(), annt.Adam(0.001))
    inference = annt.NetworkInference(net)
    train = lambda: trainer.train_batch(X, Y)           # noqa: E731
    infer = lambda: inference.predict(X)                 # noqa: E731
    train()
    infer()                                               # compile / warm up
    return train, infer


def step_callables(T, D, H, numpy_ref=True):
    """One sequence fed one step at a time: {name: run_all_T_steps}."""
    rng = np.random.default_rng(0)
    xs = rng.uniform(-1, 1, size=(T, 1, D)).astype(np.float32)
    fns = {}
    for backend, name in (("numba", "annt"), ("numpy", "NumPy reference")):
        if backend == "numpy" and not numpy_ref:
            continue
        inf = annt.NetworkInference(annt_net("RNN", D, H, 0, backend))

        def run(inf=inf):
            inf.reset_state()
            for t in range(T):
                inf.step(xs[t])
        run()
        fns[name] = run
    return fns


# ---------------------------------------------------------------- measurements
def machine_throughput(quick=False):
    """Float32 GFLOP/s of np.dot on one BLAS thread at 1024^3 and the models' shapes."""
    mt = 0.03 if quick else 0.1
    shapes = {
        "1024x1024 @ 1024x1024": (1024, 1024, 1024),
        "1024x1024 @ 1024x1024, 2 threads": (1024, 1024, 1024, np.float32, 2),
        "48x56 @ 56x168 (GRU step)": (48, 56, 168),
        "1344x28 @ 28x168 (GRU inputs)": (48 * 28, 28, 168),
        "64x128 @ 128x512 (LSTM step)": (64, 128, 512),
        "1x32 @ 32x32 (RNN step)": (1, 32, 32),
    }
    return {name: matmul_gflops(*s, min_time=mt) for name, s in shapes.items()}


def bench_model(case, quick=False, numpy_ref=True):
    """Training-step and inference times of one model for each implementation.
    Returns {"train": {name: s}, "infer": {name: s}, "flops": ..., "case": ...}."""
    cell, N, T, D, H, K = CASES[case]
    impls = {"annt": annt_callables(cell, N, T, D, H, K, "numba")}
    if numpy_ref:
        impls["NumPy reference"] = annt_callables(cell, N, T, D, H, K, "numpy")
    repeats = 3 if quick else 7
    # aim at roughly 0.1 s (quick: 0.04 s) per timed block for each implementation
    target = 0.04 if quick else 0.1
    out = {"case": case, "shape": CASES[case], "flops_train": train_flops(*CASES[case]),
           "flops_infer": model_flops(*CASES[case])}
    for which, idx in (("train", 0), ("infer", 1)):
        fns = {name: f[idx] for name, f in impls.items()}
        number = {name: max(1, int(target / best_time(fn, 1, 1))) for name, fn in fns.items()}
        out[which] = interleaved(fns, number, repeats)
    return out


def bench_step(quick=False, numpy_ref=True):
    cell, N, T, D, H, K = CASES["step"]
    if quick:
        T = QUICK_STEPS
    fns = step_callables(T, D, H, numpy_ref)
    res = interleaved(fns, 1, 3 if quick else 7)
    return {"case": "step", "shape": (cell, N, T, D, H, K), "steps": T,
            "flops_infer": model_flops(cell, N, T, D, H, K),
            "infer": res}


_FIRST_CALL = textwrap.dedent("""
    import json, time
    t0 = time.perf_counter()
    import numpy as np
    import annt
    t1 = time.perf_counter()
    annt.set_seed(0)
    net = annt.Network([annt.GRU(28, 56), annt.Dense(56, 10), annt.Softmax()])
    trainer = annt.NetworkTraining(net, annt.CrossEntropy(), annt.Adam(0.001))
    X = np.zeros((48, 28, 28), np.float32)
    Y = np.zeros((48, 28), np.int64)
    trainer.train_batch(X, Y)
    t2 = time.perf_counter()
    print(json.dumps({"import": t1 - t0, "first_call": t2 - t1}))
""")


def first_call(cache_dir=None):
    """Run ``import annt`` + the MNIST model's first train_batch in a fresh
    Python. Returns (import s, first call s, whole process wall s)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", _FIRST_CALL], env=env, cwd=ROOT,
                       capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    d = json.loads(r.stdout.strip().splitlines()[-1])
    return d["import"], d["first_call"], wall


def bench_startup(repeats=3, cold=True):
    """Warm (cache populated) and, optionally, cold (empty cache dir) start-up."""
    first_call()                                       # make sure the cache is populated
    warm = min((first_call() for _ in range(repeats)), key=lambda r: r[0] + r[1])
    res = {"warm": warm}
    if cold:
        d = tempfile.mkdtemp(prefix="annt_numba_cache_")
        try:
            res["cold"] = first_call(d)
        finally:
            shutil.rmtree(d, ignore_errors=True)
    return res


# ---------------------------------------------------------------- report
def model_table(res, peak):
    """Text table of one bench_model / bench_step result."""
    cell, N, T, D, H, K = res["shape"]
    head = f"{cell} {D}->{H}" + (f", Dense {K}" if K else "") + f", batch {N}, T={T}"
    lines = []
    for which in ("train", "infer"):
        if which not in res:
            continue
        times = res[which]
        flops = res["flops_train"] if which == "train" else res["flops_infer"]
        what = "training step" if which == "train" else (
            "inference, one step at a time" if res["case"] == "step" else "inference forward")
        lines.append(f"{head}: {what} ({flops / 1e6:.1f} MFLOP)")
        extra = ""
        if res["case"] == "mnist" and which == "train":
            extra = "   s/epoch"
        if res["case"] == "step":
            extra = "  us/step"
        lines.append(f"  {'implementation':<17}{'time':>11} {'x reference':>11} {'GFLOP/s':>8} "
                     f"{'% of peak':>9}{extra}")
        base = times.get("NumPy reference")
        for name, t in times.items():
            ratio = f"{base / t:11.2f}" if base else f"{'-':>11}"
            gf = flops / t / 1e9
            row = (f"  {name:<17}{fmt_time(t):>11} {ratio} {gf:8.2f} {100 * gf / peak:8.1f}%")
            if extra.strip() == "s/epoch":
                row += f"{t * math.ceil(EPOCH_SAMPLES / N):10.2f}"
            if res["case"] == "step":
                row += f"{t / res['steps'] * 1e6:9.1f}"
            lines.append(row)
    return "\n".join(lines)


def fmt_time(t):
    if t >= 1:
        return f"{t:.2f} s"
    if t >= 1e-3:
        return f"{t * 1e3:.2f} ms"
    return f"{t * 1e6:.1f} us"


def speedup(res, which="train"):
    """The reference's time / annt's time (None without the reference)."""
    t = res.get(which, {})
    return t["NumPy reference"] / t["annt"] if "NumPy reference" in t else None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats and steps")
    ap.add_argument("--no-numpy", action="store_true", help="skip the plain-NumPy reference")
    ap.add_argument("--no-compile", action="store_true",
                    help="skip the start-up measurements in subprocesses")
    args = ap.parse_args(argv)
    import numba
    tv = ""
    print(f"annt {annt.__version__}, NumPy {np.__version__}, Numba {numba.__version__} "
          f"({numba.get_num_threads()} threads){tv}; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")

    thr = machine_throughput(args.quick)
    peak = thr["1024x1024 @ 1024x1024"]
    print("\nfloat32 np.dot throughput, 1 BLAS thread unless said (the first line is the "
          "'peak' of the tables;\nannt may use every core, so they can exceed it):")
    for name, g in thr.items():
        print(f"  {name:<32}{g:8.2f} GFLOP/s")

    results = {}
    for case in ("mnist", "lstm"):
        results[case] = bench_model(case, args.quick, not args.no_numpy)
        print()
        print(model_table(results[case], peak))
    results["step"] = bench_step(args.quick, not args.no_numpy)
    print()
    print(model_table(results["step"], peak))

    startup = None
    if not args.no_compile:
        startup = bench_startup(2 if args.quick else 3, cold=True)
        print("\nstart-up of a fresh Python (import annt + the MNIST model's first train_batch):")
        for k, label in (("warm", "warm (Numba cache populated)"),
                         ("cold", "cold (empty NUMBA_CACHE_DIR)")):
            imp, fc, wall = startup[k]
            print(f"  {label:<30} import {imp:6.2f} s + first call {fc:6.2f} s "
                  f"= {imp + fc:6.2f} s (process wall {wall:6.2f} s)")
    print("\nannt against its NumPy reference (the reference's time / annt's time):")
    for case, res in results.items():
        for which in ("train", "infer"):
            r = speedup(res, which)
            if r is not None:
                print(f"  {case:6s} {which:6s} {r:6.2f}x")
    print("PyTorch: python benchmarks/bench_fair.py (each library in its own process)")
    return results, startup


if __name__ == "__main__":
    main()
