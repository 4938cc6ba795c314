"""Importing and using annt changes nothing outside annt.

A library that sets ``OMP_WAIT_POLICY`` in the process environment slows down
every other OpenMP user that starts after it (PyTorch ran 1.5x slower in a
process that had imported annt first); one that installs global warning
filters hides other code's warnings. Each test runs in a fresh interpreter.
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import json, os, warnings
    env0, filters0 = dict(os.environ), list(warnings.filters)
    import numpy, scipy, numba                     # their own import-time effects
    env1, filters1 = dict(os.environ), list(warnings.filters)
    import annt
    import numpy as np
    annt.set_seed(0)
    net = annt.Network([annt.LSTM(3, 8), annt.Dense(8, 2), annt.Softmax()])
    X = np.random.default_rng(0).random((64, 6, 3), dtype=np.float32)
    Y = np.eye(2, dtype=np.float32)[np.random.default_rng(1).integers(0, 2, (64, 6))]
    annt.NetworkTraining(net, annt.CrossEntropy(), annt.Adam(0.01)).fit(
        X, Y, epochs=2, batch_size=32, verbose=False)
    annt.NetworkInference(net).sample(np.array([[0], [1]]), 3)
    from numba.np.ufunc import parallel
    print(json.dumps({
        "env_changed": sorted(k for k in set(os.environ) | set(env1)
                              if os.environ.get(k) != env1.get(k)),
        "filters_added": [repr(f) for f in warnings.filters if f not in filters1],
        "numba_threads_started": bool(parallel._is_initialized),
        "annt_threads": annt.get_num_threads(),
    }))
""")


def _run(env_extra=None):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_WAIT_POLICY", "KMP_DUPLICATE_LIB_OK")}
    env.update(env_extra or {})
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_and_training_leave_the_process_environment_alone():
    result = _run()
    assert result["env_changed"] == [], "annt changed the environment: " + str(result)
    assert result["filters_added"] == [], "annt added warning filters: " + str(result)
    # annt runs its blocks on threads of its own, not on Numba's OpenMP pool
    assert result["numba_threads_started"] is False


@pytest.mark.parametrize("n", ["1", "3"])
def test_thread_count_follows_numba_num_threads(n):
    assert _run({"NUMBA_NUM_THREADS": n})["annt_threads"] == int(n)
