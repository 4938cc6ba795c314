"""Tests of annt.encoding: one-hot, argmax, the ANNT sliding windows, padding."""
import numpy as np
import pytest

from annt.encoding import argmax, one_hot, pad_sequences, sliding_windows
from annt.errors import AnntError, InputValueError, ShapeError

# The ANNT article's time-series example (rnn_time_series): 10 values, the last
# 2 held out for prediction, sequences of 4 steps -> these 4 training sequences.
ARTICLE_SERIES = [0, 1, 4, 9, 16, 25, 16, 9, 4, 1]
ARTICLE_SEQUENCES = [
    [0, 1, 4, 9, 16],
    [1, 4, 9, 16, 25],
    [4, 9, 16, 25, 16],
    [9, 16, 25, 16, 9],
]


# ---------------------------------------------------------------- one_hot

def test_one_hot_vector():
    y = one_hot([2, 0, 1], 3)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [[0, 0, 1], [1, 0, 0], [0, 1, 0]])


@pytest.mark.parametrize("shape", [(), (5,), (4, 7), (2, 3, 4)])
def test_one_hot_any_shape(shape):
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 6, size=shape)
    y = one_hot(idx, 6)
    assert y.shape == shape + (6,)
    np.testing.assert_array_equal(y.sum(axis=-1), np.ones(shape))
    np.testing.assert_array_equal(np.argmax(y, axis=-1), idx)


def test_one_hot_dtype_and_unsigned_and_empty():
    assert one_hot(np.array([1, 0], dtype=np.uint8), 2, dtype=np.float64).dtype == np.float64
    np.testing.assert_array_equal(one_hot(np.array([1], dtype=np.uint8), 2), [[0, 1]])
    e = one_hot(np.zeros((0, 3), dtype=int), 4)
    assert e.shape == (0, 3, 4)


@pytest.mark.parametrize("bad", [[0, 3], [-1, 0], [[0, 1], [5, 0]]])
def test_one_hot_out_of_range(bad):
    with pytest.raises(InputValueError, match=r"0\.\.2"):
        one_hot(bad, 3)


def test_one_hot_error_names_the_value():
    with pytest.raises(InputValueError, match=r"e\.g\. -4 at index \(1,\)"):
        one_hot([1, -4, 2], 3)


@pytest.mark.parametrize("bad", [[0.0, 1.0], [0.5], ["a"], [True, False]])
def test_one_hot_non_integer(bad):
    with pytest.raises(InputValueError, match="integer class indices"):
        one_hot(bad, 3)


@pytest.mark.parametrize("n", [0, -1, 2.0, "3", True])
def test_one_hot_bad_n_classes(n):
    with pytest.raises(InputValueError, match="n_classes"):
        one_hot([0], n)


def test_errors_are_annt_errors():
    with pytest.raises(AnntError):
        one_hot([9], 3)


# ---------------------------------------------------------------- argmax

def test_argmax_roundtrip_and_last_axis():
    idx = np.array([[3, 1, 0], [2, 2, 9]])
    np.testing.assert_array_equal(argmax(one_hot(idx, 10)), idx)
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.4, 0.1]])
    np.testing.assert_array_equal(argmax(scores), [1, 0])


def test_argmax_errors():
    with pytest.raises(ShapeError):
        argmax(np.float32(1.0))
    with pytest.raises(ShapeError):
        argmax(np.zeros((3, 0)))
    with pytest.raises(InputValueError, match="NaN"):
        argmax([[0.0, np.nan]])


# ---------------------------------------------------------------- sliding_windows

def test_sliding_windows_article_example():
    x, t = sliding_windows(ARTICLE_SERIES, 4, holdout=2)
    seq = np.array(ARTICLE_SEQUENCES, dtype=np.float32)
    assert x.shape == (4, 4, 1) and t.shape == (4, 4, 1)
    assert x.dtype == np.float32 and t.dtype == np.float32
    np.testing.assert_array_equal(x[..., 0], seq[:, :-1])
    np.testing.assert_array_equal(t[..., 0], seq[:, 1:])
    # the article's first sequence as (input, target) pairs
    assert list(zip(x[0, :, 0].tolist(), t[0, :, 0].tolist())) == [(0, 1), (1, 4), (4, 9), (9, 16)]


def test_sliding_windows_holdout_equals_slicing():
    a = sliding_windows(ARTICLE_SERIES[:-2], 4)
    b = sliding_windows(ARTICLE_SERIES, 4, holdout=2)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


def test_sliding_windows_count_matches_annt():
    # ANNT's sample output: 100 points, prediction size 5, sequence size 20
    # -> "Created 75 training sequences, 1500 training samples total"
    x, t = sliding_windows(np.arange(100.0), 20, holdout=5)
    assert x.shape == (75, 20, 1)
    assert x[..., 0].size == 1500
    # the last target is the last value before the held-out ones
    assert t[-1, -1, 0] == 94.0
    np.testing.assert_array_equal(t[:, :-1], x[:, 1:])


def test_sliding_windows_full_series_and_step():
    s = np.arange(10)
    x, t = sliding_windows(s, 4)
    assert x.shape == (6, 4, 1)
    x2, t2 = sliding_windows(s, 4, step=2)
    np.testing.assert_array_equal(x2[:, 0, 0], [0, 2, 4])
    np.testing.assert_array_equal(x2, x[::2])
    np.testing.assert_array_equal(t2, t[::2])


def test_sliding_windows_multifeature_and_dtype():
    s = np.stack([np.arange(8), 10 * np.arange(8)], axis=1)  # (T=8, F=2)
    x, t = sliding_windows(s, 3, dtype=np.float64)
    assert x.shape == (5, 3, 2) and x.dtype == np.float64
    np.testing.assert_array_equal(x[2], s[2:5])
    np.testing.assert_array_equal(t[2], s[3:6])


def test_sliding_windows_minimum_length():
    x, t = sliding_windows([1.0, 2.0, 3.0], 2)
    assert x.shape == (1, 2, 1)
    with pytest.raises(InputValueError, match="at least 4 values"):
        sliding_windows([1.0, 2.0, 3.0], 3)
    with pytest.raises(InputValueError, match="after holding out the last 2"):
        sliding_windows(ARTICLE_SERIES, 8, holdout=2)


@pytest.mark.parametrize("kwargs", [dict(window=0), dict(window=2.5), dict(window=3, step=0),
                                    dict(window=3, holdout=-1)])
def test_sliding_windows_bad_parameters(kwargs):
    with pytest.raises(InputValueError):
        sliding_windows(np.arange(20.0), **kwargs)


def test_sliding_windows_bad_series():
    with pytest.raises(ShapeError):
        sliding_windows(np.zeros((4, 5, 2)), 2)
    with pytest.raises(ShapeError):
        sliding_windows(3.0, 1)
    with pytest.raises(InputValueError, match="NaN"):
        sliding_windows([1.0, np.nan, 2.0, 3.0], 2)
    with pytest.raises(InputValueError, match="numeric"):
        sliding_windows(["a", "b", "c"], 1)


# ---------------------------------------------------------------- pad_sequences

def test_pad_sequences_city_names_with_terminator():
    terminator = 0
    names = ["BOSTON", "AUSTIN", "ERIE"]
    ids = [[ord(c) - ord("A") + 1 for c in n] + [terminator] for n in names]
    x, m = pad_sequences(ids, value=terminator)
    assert x.shape == (3, 7) and x.dtype == np.int64
    assert m.shape == (3, 7) and m.dtype == np.float32
    np.testing.assert_array_equal(x[2], [5, 18, 9, 5, 0, 0, 0])
    np.testing.assert_array_equal(m[2], [1, 1, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(m.sum(axis=1), [7, 7, 5])
    # inputs/targets of the ANNT city-names example: targets are inputs shifted by one
    inp, tgt = x[:, :-1], x[:, 1:]
    assert "".join(chr(i + ord("A") - 1) for i in inp[0][:6]) == "BOSTON"
    assert tgt[0, 5] == terminator


def test_pad_sequences_floats_length_and_2d():
    x, m = pad_sequences([[0.5], [1.5, 2.5]], value=-1.0, length=4)
    assert x.dtype == np.float64
    np.testing.assert_array_equal(x, [[0.5, -1, -1, -1], [1.5, 2.5, -1, -1]])
    np.testing.assert_array_equal(m, [[1, 0, 0, 0], [1, 1, 0, 0]])
    v, mv = pad_sequences([np.ones((2, 3)), np.ones((1, 3))], value=0, dtype=np.float32)
    assert v.shape == (2, 2, 3) and v.dtype == np.float32
    np.testing.assert_array_equal(v[1, 1], [0, 0, 0])
    np.testing.assert_array_equal(mv, [[1, 1], [1, 0]])


def test_pad_sequences_empty_member_and_generator():
    x, m = pad_sequences((s for s in [[], [3, 4]]), value=9)
    np.testing.assert_array_equal(x, [[9, 9], [3, 4]])
    np.testing.assert_array_equal(m, [[0, 0], [1, 1]])


def test_pad_sequences_errors():
    with pytest.raises(ShapeError, match="sequence 1 has 3 steps"):
        pad_sequences([[1], [1, 2, 3]], value=0, length=2)
    with pytest.raises(InputValueError, match="empty"):
        pad_sequences([], value=0)
    with pytest.raises(InputValueError, match="string"):
        pad_sequences(["abc", "de"], value=0)
    with pytest.raises(InputValueError, match="string"):
        pad_sequences("abc", value=0)
    with pytest.raises(ShapeError, match="scalar"):
        pad_sequences([1, 2], value=0)
    with pytest.raises(ShapeError, match="feature shapes"):
        pad_sequences([np.ones((2, 3)), np.ones((2, 4))], value=0)
    with pytest.raises(InputValueError, match="does not fit"):
        pad_sequences([np.array([1, 2], dtype=np.uint8)], value=-1, length=3)
