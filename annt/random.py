"""One seedable source of randomness for weight initialisation, dropout and
shuffling, so that a notebook that calls ``annt.set_seed(0)`` first is
reproducible."""
import numpy as np

_rng = np.random.default_rng(0)


def set_seed(seed):
    """Reset annt's random generator (used by every layer and trainer created afterwards
    that is not given an ``rng`` of its own)."""
    global _rng
    _rng = np.random.default_rng(seed)
    return _rng


def get_rng(rng=None):
    """``rng`` itself if it is a Generator, a new Generator if it is an int seed,
    annt's shared generator if it is None."""
    if rng is None:
        return _rng
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)
