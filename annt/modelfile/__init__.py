"""annt's model files, behind ``annt.save`` and ``annt.load`` (``annt/io.py``).

* ``header.py``: the JSON header that describes the network, and the checks
  that compare a file with it before any weight is read;
* ``atomic.py``: replacing a file in one step (no half-written model, ever);
* ``opening.py``: opening a file to read without hanging on a pipe or device;
* ``safetensors_v2.py``: format version 2, a safetensors file (what ``save`` writes);
* ``npz_v1.py``: format version 1, a NumPy ``.npz`` archive (still read).
"""
