"""annt against PyTorch on the CPU, measured fairly.

Every measurement runs in a fresh process that imports ONE library, at its
own best settings: annt at its defaults, PyTorch with as many threads as the
machine has cores (its documented best setting for CPU work). The processes
of the two libraries alternate (annt, torch, torch, annt, ...) and each case
is repeated, so that a burst of load on a shared machine hits both alike; the
table gives the median time of each and the ratio PyTorch / annt (above 1:
annt is faster), with the range over the repeats.

Why the care: a benchmark that imports both libraries into one process
measures whatever the first one did to the second. An earlier version of this
benchmark ran PyTorch after ``import annt``, which then set
``OMP_WAIT_POLICY=PASSIVE``, and PyTorch's OpenMP threads, told to sleep
instead of spin, ran 1.5x slower: the ratios it printed were flattering and
wrong.

Cases (same model, same data, same loss placement in both libraries):

  mnist_epoch  the ANNT article's MNIST model: GRU 28 -> 56, Dense 10, softmax
               cross-entropy on the LAST step's output (the label of the image),
               Adam 1e-3, batch 48, one epoch of 50,000 28 x 28 images
               (random pixels in [-1, 1] and random labels: speed does not
               depend on the values); --every-step puts the loss on every row
               step, as the article's program does
  lstm_train   LSTM 64 -> 128, Dense 10, softmax cross-entropy at every step,
               Adam 1e-3, batch 64, T = 100: one training step
  lstm_infer   the same model, inference (forward and softmax, no gradients)
  rnn_step     Elman RNN 32 -> 32 on one sequence, fed one step at a time
               (1000 steps; time per step)
  compile      annt only: import annt and the MNIST model's first training
               call with an empty Numba cache (what a reader's first run pays)
  side_effect  PyTorch only: lstm_train in a fresh process against lstm_train
               in a process that first imported annt and trained an annt LSTM
               (importing annt must leave PyTorch's speed unchanged; the ratio
               is the time after annt / the time fresh)

    python benchmarks/bench_fair.py [--cases mnist_epoch,lstm_train,...]
        [--repeats 3] [--torch-python PATH] [--json FILE]

``--torch-python`` runs the PyTorch processes with another interpreter (one
where torch is installed); by default this one. Without torch the PyTorch
column is left empty.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

EPOCH = 50_000
CASES = ["mnist_epoch", "lstm_train", "lstm_infer", "rnn_step", "compile", "side_effect"]
UNITS = {"mnist_epoch": "s/epoch", "lstm_train": "ms/step", "lstm_infer": "ms/call",
         "rnn_step": "us/step", "compile": "s", "side_effect": "ms/step"}
SCALE = {"mnist_epoch": 1, "lstm_train": 1e3, "lstm_infer": 1e3, "rnn_step": 1e6, "compile": 1,
         "side_effect": 1e3}


# ---------------------------------------------------------------- data, same in both
def _data(case, every_step=False):
    import numpy as np
    rng = np.random.default_rng(0)
    if case == "mnist_epoch":
        X = rng.uniform(-1, 1, (EPOCH, 28, 28)).astype(np.float32)
        y = rng.integers(0, 10, EPOCH)
        Y = np.repeat(y[:, None], 28, axis=1) if every_step else y
        return X, Y
    if case in ("lstm_train", "lstm_infer"):
        return (rng.uniform(-1, 1, (64, 100, 64)).astype(np.float32),
                rng.integers(0, 10, (64, 100)))
    if case == "rnn_step":
        return rng.uniform(-1, 1, (1000, 1, 32)).astype(np.float32), None
    raise ValueError(case)


def _timed(fn, warmup, number):
    """Median of ``number`` timed calls of fn() after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(number):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# ---------------------------------------------------------------- annt worker
def annt_worker(case, every_step):
    if case == "compile":
        t0 = time.perf_counter()
        import numpy as np
        import annt
        t1 = time.perf_counter()
        annt.set_seed(0)
        net = annt.Network([annt.GRU(28, 56, return_sequences=False), annt.Dense(56, 10),
                            annt.Softmax()])
        trainer = annt.NetworkTraining(net, annt.CrossEntropy(), annt.Adam(0.001))
        trainer.train_batch(np.zeros((48, 28, 28), np.float32), np.zeros(48, np.int64))
        return {"seconds": time.perf_counter() - t0, "import": t1 - t0}
    import annt
    annt.set_seed(0)
    X, Y = _data(case, every_step)
    if case == "mnist_epoch":
        net = annt.Network([annt.GRU(28, 56, return_sequences=every_step), annt.Dense(56, 10),
                            annt.Softmax()])
        trainer = annt.NetworkTraining(net, annt.CrossEntropy(), annt.Adam(0.001))
        batches = [(X[i:i + 48], Y[i:i + 48]) for i in range(0, EPOCH - 47, 48)]

        def epoch():
            for xb, yb in batches:
                trainer.train_batch(xb, yb)
        for xb, yb in batches[:20]:
            trainer.train_batch(xb, yb)
        return {"seconds": _timed(epoch, 0, 1)}
    if case in ("lstm_train", "lstm_infer"):
        net = annt.Network([annt.LSTM(64, 128), annt.Dense(128, 10), annt.Softmax()])
        if case == "lstm_train":
            trainer = annt.NetworkTraining(net, annt.CrossEntropy(), annt.Adam(0.001))
            return {"seconds": _timed(lambda: trainer.train_batch(X, Y), 3, 21)}
        inference = annt.NetworkInference(net)
        return {"seconds": _timed(lambda: inference.predict(X), 3, 41)}
    if case == "rnn_step":
        inference = annt.NetworkInference(annt.Network([annt.RNN(32, 32)]))

        def run():
            inference.reset_state()
            for x in X:
                inference.step(x)
        return {"seconds": _timed(run, 1, 7) / len(X)}
    raise ValueError(case)


# ---------------------------------------------------------------- PyTorch worker
def _torch_model(torch, recurrent, H, every_step):
    """annt's Network([recurrent, Dense(H, 10), Softmax()]) in PyTorch (the softmax is in
    the loss): scores at every step, or at the last step only."""
    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.recurrent = recurrent
            self.dense = torch.nn.Linear(H, 10)

        def forward(self, x):
            out = self.recurrent(x)[0]
            return self.dense(out if every_step else out[:, -1])
    return Model()


def torch_worker(case, every_step, threads, after_annt=False):
    if after_annt:                  # annt first, used, then PyTorch in the same process
        import numpy as np
        import annt
        annt.set_seed(0)
        net = annt.Network([annt.LSTM(64, 128), annt.Dense(128, 10), annt.Softmax()])
        trainer = annt.NetworkTraining(net, annt.CrossEntropy(), annt.Adam(0.001))
        X, Y = _data("lstm_train")
        for _ in range(3):
            trainer.train_batch(X, Y)
    if case == "side_effect":
        case = "lstm_train"
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    X, Y = _data(case, every_step)
    if case == "mnist_epoch":
        model = _torch_model(torch, torch.nn.GRU(28, 56, batch_first=True), 56, every_step)
        opt = torch.optim.Adam(model.parameters(), lr=0.001)
        loss_fn = torch.nn.CrossEntropyLoss()
        Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y.astype("int64"))
        batches = [(Xt[i:i + 48], Yt[i:i + 48]) for i in range(0, EPOCH - 47, 48)]

        def step(xb, yb):
            opt.zero_grad()
            loss = loss_fn(model(xb).reshape(-1, 10), yb.reshape(-1))
            loss.backward()
            opt.step()

        def epoch():
            for xb, yb in batches:
                step(xb, yb)
        for xb, yb in batches[:20]:
            step(xb, yb)
        return {"seconds": _timed(epoch, 0, 1)}
    if case in ("lstm_train", "lstm_infer"):
        model = _torch_model(torch, torch.nn.LSTM(64, 128, batch_first=True), 128, True)
        Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y.astype("int64")).reshape(-1)
        if case == "lstm_train":
            opt = torch.optim.Adam(model.parameters(), lr=0.001)
            loss_fn = torch.nn.CrossEntropyLoss()

            def train():
                opt.zero_grad()
                loss = loss_fn(model(Xt).reshape(-1, 10), Yt)
                loss.backward()
                opt.step()
            return {"seconds": _timed(train, 3, 21)}

        def infer():
            with torch.no_grad():
                return torch.softmax(model(Xt), dim=-1)
        return {"seconds": _timed(infer, 3, 41)}
    if case == "rnn_step":
        rnn = torch.nn.RNN(32, 32)
        xs = [torch.from_numpy(x[None]) for x in X]          # (1, 1, 32) each

        def run():
            with torch.no_grad():
                h = torch.zeros(1, 1, 32)
                for x in xs:
                    _, h = rnn(x, h)
        return {"seconds": _timed(run, 1, 7) / len(xs)}
    raise ValueError(case)


# ---------------------------------------------------------------- driver
def _spawn(python, lib, case, every_step, threads, env_extra=None):
    cmd = [python, os.path.abspath(__file__), "--worker", lib, "--cases", case,
           "--threads", str(threads)] + (["--every-step"] if every_step else [])
    if lib == "torch_after_annt":
        cmd[cmd.index("--worker") + 1] = "torch"
        cmd.append("--after-annt")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.update(env_extra or {})
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(f"{lib} {case} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _torch_ok(python):
    out = subprocess.run([python, "-c", "import torch; print(torch.__version__)"],
                         capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else None


def cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def run(cases, repeats, torch_python, every_step):
    threads = cores()
    torch_version = _torch_ok(torch_python)
    results = {}
    for case in cases:
        if case == "side_effect":
            if not torch_version:
                continue
            libs = ["torch", "torch_after_annt"]
        else:
            libs = ["annt"] + (["torch"] if torch_version and case != "compile" else [])
        times = {lib: [] for lib in libs}
        for r in range(repeats):
            order = libs if r % 2 == 0 else libs[::-1]
            for lib in order:
                if case == "compile":
                    with tempfile.TemporaryDirectory() as cache:
                        res = _spawn(sys.executable, lib, case, every_step, threads,
                                     {"NUMBA_CACHE_DIR": cache})
                else:
                    python = sys.executable if lib == "annt" else torch_python
                    try:
                        res = _spawn(python, lib, case, every_step, threads)
                    except RuntimeError as e:
                        if lib != "torch_after_annt":
                            raise
                        print(f"side_effect skipped: the PyTorch interpreter could not run annt "
                              f"(install annt's requirements there):\n{e}", file=sys.stderr)
                        times = None
                        break
                times[lib].append(res["seconds"])
            if times is None:
                break
        if times is None:
            continue
        results[case] = times
    return results, {"threads": threads, "torch": torch_version, "every_step": every_step}


def table(results, info):
    side = []
    lines = [f"{'case':12s} {'unit':8s} {'annt':>9s} {'PyTorch':>9s} {'PyTorch/annt':>13s}"
             f"  {'range of the ratio':>18s}"]
    for case, times in results.items():
        s = SCALE[case]
        if case == "side_effect":
            f = statistics.median(times["torch"])
            a = statistics.median(times["torch_after_annt"])
            ratios = [aa / ff for aa, ff in zip(times["torch_after_annt"], times["torch"])]
            side.append(f"PyTorch lstm_train: fresh process {f * s:.3g} ms, after import annt "
                        f"and an annt training run {a * s:.3g} ms: {a / f:.2f}x "
                        f"(range {min(ratios):.2f}-{max(ratios):.2f}x)")
            continue
        a = statistics.median(times["annt"])
        row = f"{case:12s} {UNITS[case]:8s} {a * s:9.3g}"
        if "torch" in times:
            t = statistics.median(times["torch"])
            ratios = [tt / aa for tt, aa in zip(times["torch"], times["annt"])]
            row += f" {t * s:9.3g} {t / a:12.2f}x  {min(ratios):8.2f}-{max(ratios):.2f}x"
        lines.append(row)
    lines.append(f"({info['threads']} cores; PyTorch {info['torch'] or 'not installed'} with "
                 f"{info['threads']} threads; each number the median of fresh processes; "
                 f"mnist_epoch loss on {'every' if info['every_step'] else 'the last'} step)")
    return "\n".join(lines + side)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--torch-python", default=sys.executable)
    p.add_argument("--every-step", action="store_true")
    p.add_argument("--json")
    p.add_argument("--worker", choices=["annt", "torch"], help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=cores(), help=argparse.SUPPRESS)
    p.add_argument("--after-annt", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    cases = args.cases.split(",")
    if args.worker:
        fn = annt_worker if args.worker == "annt" else \
            (lambda c, e: torch_worker(c, e, args.threads, args.after_annt))
        print(json.dumps(fn(cases[0], args.every_step)))
        return 0
    unknown = set(cases) - set(CASES)
    if unknown:
        p.error(f"unknown cases {sorted(unknown)}; choose from {CASES}")
    results, info = run(cases, args.repeats, args.torch_python, args.every_step)
    print(table(results, info))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "info": info}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
