"""The cyclic garbage collector, paused while capture or an ingest makes tens of thousands of objects in a row.

Capture's per-file work (hashing a folder, classifying what a command read, the record of a
20,000-file input, its canonical bytes) makes many objects and almost no cycles; each pass of
the collector walks every live object, and those passes cost more than the work (measured: over
a third of a warm re-hash of 20,000 files; about a tenth of a re-capture's CPU after the command).
Reference counting still frees everything that is not in a cycle; the few cycles made while the
collector is paused are found by its first pass after it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

PROMOTE_AFTER = 10_000  # objects made with the collector paused


@contextmanager
def paused_collection(*, promote: bool = True) -> Iterator[None]:
    """Pause the cyclic garbage collector (a nested pause leaves it to the outer one).

    With `promote`, on the way out of a big stretch, what it made goes straight to the oldest
    generation (freeze, then unfreeze: two list splices), as it would after surviving two
    collections: the file lists live until the record is written, and walking them young costs a
    sixth of a warm re-hash of 20,000 files. Only then (a small stretch's objects get the usual
    young pass, so a caller hashing in a loop keeps its garbage short-lived), and never while
    someone else holds objects frozen (a pre-fork server), so as not to thaw them.

    Without it, for a stretch that leaves mostly garbage in cycles (a PDF's layout): promoted, that
    garbage would wait for a full collection, which may not come for a long time (a process that
    renders eight dossiers grew by 118 MB each); left young, the first collection after the pause
    frees it in one pass."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if promote and gc.get_count()[0] >= PROMOTE_AFTER and gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()
