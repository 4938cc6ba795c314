"""Where annt's time goes, kernel by kernel, against the machine's matrix-product speed.

For the cases of ``bench_fair.py`` where annt is furthest from its targets:

  mnist_batch  one training step of the ANNT article's MNIST model (GRU 28 -> 56,
               Dense 10, softmax cross-entropy on the last step, Adam, batch 48,
               T = 28), as in ``bench_fair.py --cases mnist_epoch``;
  lstm_train   one training step of the LSTM 64 -> 128 (Dense 10, softmax
               cross-entropy at every step, Adam), batch 64, T = 100, as in
               ``bench_fair.py --cases lstm_train``;
  lstm_infer   inference of the same LSTM, as in ``bench_fair.py --cases lstm_infer``,

it runs the real calls many times (annt at its defaults) with a timer around
each kernel annt's layers call (``annt.kernels.*``) and around each layer,
cost and optimizer step; the time of a layer excludes the kernels it calls.
What is left of the whole call is the Python and NumPy code around them.

For the kernels whose time is mostly matrix products it also gives:
  * the GFLOP/s they achieve (matrix products only), and
  * the floor: the same products, at the same shapes, on one thread per block,
    the blocks at the same time as the kernel runs them, each thread calling the
    same BLAS function (``annt.kernels._blas.gemm_``) from a compiled loop with
    nothing else around it.
The kernel's time minus the floor is what its element-wise code, its thread
hand-off and its waiting cost.

    python benchmarks/profile_annt.py [--cases mnist_batch,lstm_train,lstm_infer] [--repeats 200]

Times are medians; a shared machine's load moves them, so compare the columns
of one run.
"""
import argparse
import collections
import functools
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

import annt
from annt._threads import blas_single_thread
from annt.kernels._blas import gemm_
from annt.kernels._parallel import block_bounds, n_blocks
from annt.kernels.lstm import infers_in_columns


# ---------------------------------------------------------------- timers
class Profile:
    """Exclusive wall time per label: a timed call inside another is subtracted
    from the outer one."""

    def __init__(self):
        self.total = collections.defaultdict(float)
        self.calls = collections.Counter()
        self._stack = []
        self._undo = []

    def wrap(self, owner, name, label):
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            self._stack.append(0.0)
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - t0
                inner = self._stack.pop()
                self.total[label] += elapsed - inner
                self.calls[label] += 1
                if self._stack:
                    self._stack[-1] += elapsed
        setattr(owner, name, timed)
        self._undo.append((owner, name, original))

    def restore(self):
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo.clear()

    def reset(self):
        self.total.clear()
        self.calls.clear()


def instrument(profile):
    import annt.kernels as K
    for name in ("gru_forward", "gru_forward_infer", "gru_backward", "lstm_forward",
                 "lstm_forward_infer", "lstm_backward", "matmul", "matmul_tn_many", "column_sums"):
        profile.wrap(K, name, f"kernel {name}")
    from annt.layers.activations import Activation
    from annt.layers.recurrent import Recurrent
    for cls, method, label in ((Recurrent, "forward", "recurrent layer forward (rest)"),
                               (annt.GRU, "backward", "GRU.backward (rest)"),
                               (annt.LSTM, "backward", "LSTM.backward (rest)"),
                               (annt.Dense, "forward", "Dense.forward"),
                               (annt.Dense, "backward", "Dense.backward"),
                               (Activation, "forward", "Softmax.forward"),
                               (annt.Softmax, "backward", "Softmax.backward")):
        profile.wrap(cls, method, label)
    profile.wrap(annt.CrossEntropy, "loss_and_grad", "CrossEntropy.loss_and_grad")
    profile.wrap(annt.Adam, "step", "Adam.step")


# ---------------------------------------------------------------- matrix-product floor
@njit(error_model="numpy", nogil=True)    # no cache: this file is also loaded by the tests
def _products(ops, T):
    """T times, each product of ``ops`` (A, B, C): C = A B (as the kernels call BLAS)."""
    for _ in range(T):
        for A, B, C in ops:
            gemm_(A, B, C, 0.0)


def floor_seconds(shapes, T, blocks, dtype=np.float32, repeats=50):
    """Median time of T steps of the products ``shapes`` [(m, k, n), ...], run by
    ``blocks`` threads at once, each on its own operands (as the kernel's blocks run)."""
    rng = np.random.default_rng(0)

    def operands():
        return tuple((rng.standard_normal((m, k)).astype(dtype),
                      rng.standard_normal((k, n)).astype(dtype), np.empty((m, n), dtype))
                     for m, k, n in shapes)
    ops = [operands() for _ in range(blocks)]
    pool = ThreadPoolExecutor(max_workers=max(blocks - 1, 1))

    def run():
        futures = [pool.submit(_products, o, T) for o in ops[1:]]
        _products(ops[0], T)
        for f in futures:
            f.result()
    try:
        with blas_single_thread():     # as annt's calls run: BLAS itself on one thread
            run()
            return statistics.median(call_times(run, repeats))
    finally:
        pool.shutdown()


def call_times(fn, repeats):
    """The times of ``repeats`` calls of fn(), in seconds."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def flops(shapes, T):
    return 2.0 * T * sum(m * k * n for m, k, n in shapes)


# ---------------------------------------------------------------- the cases
def mnist_batch():
    N, T, D, H, K = 48, 28, 28, 56, 10
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (N, T, D)).astype(np.float32)
    y = rng.integers(0, K, N)
    annt.set_seed(0)
    net = annt.Network([annt.GRU(D, H, return_sequences=False), annt.Dense(H, K), annt.Softmax()])
    trainer = annt.NetworkTraining(net, annt.CrossEntropy(), annt.Adam(0.001))
    nb = -(-N // n_blocks(N))          # rows of the largest block
    products = {   # per step and block, (m, k, n): reset before the product (ANNT's GRU)
        "kernel gru_forward": [(nb, H, 2 * H), (nb, H, H)],
        "kernel gru_backward": [(nb, H, H), (nb, 2 * H, H)],
    }
    return "MNIST GRU, one training step (batch 48)", (lambda: trainer.train_batch(X, y)), \
        products, T, n_blocks(N)


def lstm_train():
    N, T, D, H, K = 64, 100, 64, 128, 10
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (N, T, D)).astype(np.float32)
    Y = rng.integers(0, K, (N, T))
    annt.set_seed(0)
    net = annt.Network([annt.LSTM(D, H), annt.Dense(H, K), annt.Softmax()])
    trainer = annt.NetworkTraining(net, annt.CrossEntropy(), annt.Adam(0.001))
    nb = -(-N // n_blocks(N))
    products = {"kernel lstm_forward": [(nb, H, 4 * H)],        # h_{t-1} W
                "kernel lstm_backward": [(nb, 4 * H, H)]}       # da_t W^T
    return "LSTM 64 -> 128, one training step (batch 64, T = 100)", \
        (lambda: trainer.train_batch(X, Y)), products, T, n_blocks(N)


def lstm_infer():
    N, T, D, H, K = 64, 100, 64, 128, 10
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (N, T, D)).astype(np.float32)
    annt.set_seed(0)
    net = annt.Network([annt.LSTM(D, H), annt.Dense(H, K), annt.Softmax()])
    inference = annt.NetworkInference(net)
    nb = max(b1 - b0 for b0, b1 in block_bounds(N))
    if infers_in_columns(N):              # one column per sequence: [U; W]^T [x_t, h_{t-1}]^T
        shape = (4 * H, D + H, nb)
    else:                                 # one row per sequence: [x_t, h_{t-1}] [U; W]
        shape = (nb, D + H, 4 * H)
    products = {"kernel lstm_forward_infer": [shape]}
    return "LSTM 64 -> 128, inference (batch 64, T = 100)", (lambda: inference.predict(X)), \
        products, T, n_blocks(N)


CASES = {"mnist_batch": mnist_batch, "lstm_train": lstm_train, "lstm_infer": lstm_infer}


def run_case(case, repeats):
    title, call, products, T, blocks = CASES[case]()
    for _ in range(10):                       # compile, fill buffers
        call()
    whole = call_times(call, repeats)
    profile = Profile()
    instrument(profile)
    try:
        call()
        profile.reset()
        timed = call_times(call, repeats)
    finally:
        profile.restore()
    t_whole = sum(timed) / repeats         # the parts below are means over the same calls
    rows = sorted(((v / repeats, k) for k, v in profile.total.items()), reverse=True)
    print(f"\n{title}: {statistics.median(whole) * 1e3:.2f} ms per call (median of {repeats}); "
          f"with the timers {t_whole * 1e3:.2f} ms (mean), {blocks} block(s) of sequences "
          f"on {annt.get_num_threads()} thread(s)")
    print(f"  {'part':36s} {'ms':>7s} {'share':>6s} {'GFLOP/s':>8s}  products alone: ms, GFLOP/s")
    accounted = 0.0
    for t, label in rows:
        accounted += t
        extra = ""
        if label in products:
            f = flops(products[label], T)
            fl = floor_seconds(products[label], T, blocks)
            extra = f"{f / t / 1e9:8.1f}  {fl * 1e3:7.2f} {f / fl / 1e9:8.1f}"
        print(f"  {label:36s} {t * 1e3:7.2f} {t / t_whole:6.0%} {extra}")
    rest = t_whole - accounted
    print(f"  {'Python and NumPy around them':36s} {rest * 1e3:7.2f} {rest / t_whole:6.0%}")
    for label, shapes in products.items():
        print(f"  {label}: per step and block " + ", ".join(f"({m}x{k}) @ ({k}x{n})"
                                                         for m, k, n in shapes))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    for case in cases:
        if case not in CASES:
            parser.error(f"unknown case {case!r}; expected some of {', '.join(CASES)}")
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    for case in cases:
        run_case(case, args.repeats)


if __name__ == "__main__":
    main()
