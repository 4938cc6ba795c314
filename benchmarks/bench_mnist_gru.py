"""Time one training epoch of the ANNT article's MNIST model.

GRU 28 -> 56, Dense 56 -> 10, softmax cross-entropy at each of the 28 row
steps (the article's setup), Adam, batch 48, 50,000 MNIST-shaped samples
(random pixels in [-1, 1]: the time does not depend on the values).

Three implementations of the same model, run in this one process:
  * annt (Numba kernels),
  * the plain-NumPy reference (annt's layers with backend="numpy": the kernels
    of annt.kernels.reference, one NumPy operation per gate and step),
  * PyTorch CPU nn.GRU (when torch is installed; optional).

Prints seconds per epoch and ratios; absolute times move from run to run on
shared machines, the ratios taken in one run are the message.

    python benchmarks/bench_mnist_gru.py [--samples 50000] [--repeats 1]
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import annt  # noqa: E402

T, D, H, K, BATCH = 28, 28, 56, 10, 48


def make_data(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, T, D)).astype(np.float32)
    labels = rng.integers(0, K, size=n)
    Y = np.repeat(labels[:, None], T, axis=1)      # the label is the target at every step
    return X, Y


def annt_epoch(X, Y, backend):
    annt.set_seed(0)
    net = annt.Network([annt.GRU(D, H, backend=backend), annt.Dense(H, K), annt.Softmax()])
    trainer = annt.NetworkTraining(net, annt.CrossEntropy(), annt.Adam(0.001))
    trainer.train_batch(X[:BATCH], Y[:BATCH])          # compile / warm up outside the timing
    start = time.perf_counter()
    trainer.fit(X, Y, epochs=1, batch_size=BATCH, shuffle=True, verbose=False)
    return time.perf_counter() - start


def torch_epoch(X, Y):
    import torch

    torch.manual_seed(0)

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = torch.nn.GRU(D, H, batch_first=True)
            self.dense = torch.nn.Linear(H, K)

        def forward(self, x):
            return self.dense(self.gru(x)[0])

    model = Model()
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y.astype(np.int64))

    def step(xb, yb):
        opt.zero_grad()
        loss = loss_fn(model(xb).reshape(-1, K), yb.reshape(-1))
        loss.backward()
        opt.step()

    step(Xt[:BATCH], Yt[:BATCH])
    start = time.perf_counter()
    perm = torch.from_numpy(np.random.default_rng(0).permutation(len(X)))
    for s in range(0, len(X), BATCH):
        idx = perm[s:s + BATCH]
        step(Xt[idx], Yt[idx])
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=50_000)
    ap.add_argument("--repeats", type=int, default=1, help="best of this many epochs")
    ap.add_argument("--no-numpy", action="store_true", help="skip the plain-NumPy reference")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    args = ap.parse_args()
    X, Y = make_data(args.samples)
    results = {}

    def best(f, *a):
        return min(f(*a) for _ in range(args.repeats))

    results["annt (Numba)"] = best(annt_epoch, X, Y, "numba")
    if not args.no_numpy:
        results["plain NumPy reference"] = best(annt_epoch, X, Y, "numpy")
    if not args.no_torch:
        try:
            import torch
            results[f"PyTorch {torch.__version__} nn.GRU ({torch.get_num_threads()} threads)"] = \
                best(torch_epoch, X, Y)
        except ImportError:
            print("PyTorch is not installed: skipped (pip install torch to compare)")
    print(f"GRU {D}->{H}, Dense {K}, softmax, Adam, batch {BATCH}, {T} steps, "
          f"{args.samples:,} samples, {os.cpu_count()} cores")
    base = results["annt (Numba)"]
    print(f"{'implementation':<48} {'s/epoch':>8} {'x annt time':>12}")
    for name, t in results.items():
        print(f"{name:<48} {t:8.2f} {t / base:12.2f}")
    torch_keys = [k for k in results if k.startswith("PyTorch")]
    if torch_keys:
        speedup = results[torch_keys[0]] / base
        print(f"annt is {speedup:.2f}x faster than PyTorch CPU on this model "
              f"(target: at least 2x)")


if __name__ == "__main__":
    main()
