"""One seed tree: every random stream of a run comes from the run's seed and a path of labels.

``child_seed(seed, "montecarlo", "stated")`` is the entropy of the stream named by those labels under ``seed``
(numpy's :class:`~numpy.random.SeedSequence` with the labels as its spawn key), so streams of one run never
coincide, and no stream of one seed is a stream of another (``--seed 0``'s Monte Carlo stream is not ``--seed 1``'s
main stream, as integer offsets made it).  With no labels it is the seed itself: ``rng(seed)`` is numpy's
``default_rng(seed)``.

>>> child_seed(0) == 0, child_seed(0, "a") != child_seed(1), child_seed(0, "a") == child_seed(0, "a")
(True, True, True)
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["child_seed", "rng"]


def _label_key(label: str | int) -> int:
    """A label as a 32-bit spawn-key entry, the same on every machine and Python (no salted ``hash``)."""
    if isinstance(label, int):
        if label < 0:
            raise ValueError(f"seed label: expected a non-negative integer, got {label}")
        return label
    return int.from_bytes(hashlib.blake2b(label.encode("utf-8"), digest_size=4).digest(), "little") | (1 << 32)


def child_seed(seed: int, *labels: str | int) -> int:
    """The 64-bit entropy of the stream ``labels`` under ``seed`` (``seed`` itself when there are no labels).

    String labels map above 2^32 and integer labels (restart numbers, indices) below it, so the two never collide.
    """
    if not labels:
        return int(seed)
    sequence = np.random.SeedSequence(int(seed), spawn_key=tuple(_label_key(label) for label in labels))
    return int(sequence.generate_state(2, dtype=np.uint32).view(np.uint64)[0])


def rng(seed: int, *labels: str | int) -> np.random.Generator:
    """numpy's generator for the stream ``labels`` under ``seed``."""
    return np.random.default_rng(child_seed(seed, *labels))
