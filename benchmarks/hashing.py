"""Content hashing speed: auditor.capture.hashing against sha256sum, and the stat cache against a first hash.

    .venv/bin/python benchmarks/hashing.py [--dir DIR] [--big-gib 2] [--small-files 20000] [--small-gib 1]

Targets (issue: content hashes at disk speed):
1. one big file: auditor's throughput >= 0.9x `sha256sum FILE`;
2. many small files: auditor >= 1.5x `find DIR -type f -print0 | xargs -0 sha256sum`;
3. re-hashing unchanged files with a warm stat cache: < 5% of the first, uncached hash;
4. the same with the cache loaded from its file: <= 2x `find DIR -type f -printf '%s %T@\\n'` (issue #19).

Page caches cannot be dropped here, so every tool runs once to warm the cache
and then --repeat times, interleaved; medians are reported. Everything is
created in a temporary folder under --dir and removed at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from auditor.capture.hashing import HashCache, hash_path
from auditor.record.lineage import ContentHash

MIB = 1 << 20
PAST_NS = 3600 * 10**9  # mtimes an hour old, so the stat cache trusts its entries (see RACY_NS)


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def shell(command: str, cwd: Path) -> Callable[[], object]:
    return lambda: subprocess.run(["bash", "-c", command], cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def auditor(path: Path, cache: Callable[[], HashCache | None]) -> Callable[[], ContentHash]:
    def run() -> ContentHash:
        result = hash_path(path, display_root=path.parent, cache=cache(), now=datetime.now(UTC), progress=False)
        assert isinstance(result, ContentHash), result
        return result

    return run


def medians(repeat: int, **actions: Callable[[], object]) -> dict[str, float]:
    """Warm every action once, then time them interleaved so drift hits all alike."""
    for action in actions.values():
        action()
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeat):
        for name, action in actions.items():
            times[name].append(timed(action))
    return {name: statistics.median(values) for name, values in times.items()}


def age(path: Path) -> None:
    past = time.time_ns() - PAST_NS
    os.utime(path, ns=(past, past))


def make_big_file(path: Path, gib: float) -> None:
    """Random 1 MiB blocks, each made unique by its index, written fast."""
    block = bytearray(os.urandom(MIB))
    with path.open("wb") as handle:
        for index in range(int(gib * 1024)):
            block[:8] = index.to_bytes(8, "little")
            handle.write(block)
    age(path)


def make_small_files(root: Path, count: int, total: int) -> None:
    """count files of random sizes summing to total bytes, 500 to a folder, each a slice of one random pool."""
    rng = random.Random(42)  # noqa: S311 -- reproducible sizes, not secrets
    weights = [rng.random() for _ in range(count)]
    scale = total / sum(weights)
    sizes = [int(weight * scale) for weight in weights]
    sizes[-1] += total - sum(sizes)
    pool = os.urandom(max(sizes) + MIB)
    for index, size in enumerate(sizes):
        path = root / f"d{index // 500:03d}" / f"f{index:06d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        start = rng.randrange(MIB)
        path.write_bytes(pool[start : start + size])
        age(path)


def report(label: str, value: str, ratio: float, target: str, ok: bool) -> None:
    print(f"{label:<48} {value:<30} ratio {ratio:6.3f} (target {target}) {'PASS' if ok else 'FAIL'}")


def big_file(work: Path, gib: float, repeat: int) -> None:
    path = work / "big.bin"
    make_big_file(path, gib)
    size = path.stat().st_size
    t = medians(repeat, sha256sum=shell(f"sha256sum {path}", work), auditor=auditor(path, lambda: None))
    speed = {name: size / seconds / 2**30 for name, seconds in t.items()}
    value = f"{speed['auditor']:.2f} vs {speed['sha256sum']:.2f} GiB/s"
    ratio = speed["auditor"] / speed["sha256sum"]
    report(f"1. one {gib:g} GiB file: auditor / sha256sum", value, ratio, ">= 0.9x", ratio >= 0.9)
    path.unlink()


def small_files(work: Path, count: int, gib: float, repeat: int) -> None:
    root = work / "small"
    make_small_files(root, count, int(gib * 2**30))
    cache_file = work / "store" / "hash-cache.json"
    caches: list[HashCache] = []

    def cold() -> HashCache:
        caches.append(HashCache(cache_file))
        return caches[-1]

    find = "find small -type f -print0 | xargs -0 sha256sum > /dev/null"
    t = medians(repeat, shell=shell(find, work), auditor=auditor(root, cold))
    ratio = t["shell"] / t["auditor"]
    value = f"{t['auditor']:.3f} s vs {t['shell']:.3f} s"
    report(f"2. {count} files, {gib:g} GiB: auditor vs find|xargs", value, ratio, ">= 1.5x", ratio >= 1.5)

    warm = caches[-1]
    first = auditor(root, lambda: None)()
    again = medians(repeat, rehash=auditor(root, lambda: warm))["rehash"]
    assert auditor(root, lambda: warm)().model_dump(exclude={"hashed_at"}) == first.model_dump(exclude={"hashed_at"})
    ratio = again / t["auditor"]
    value = f"{again * 1000:.1f} ms vs {t['auditor'] * 1000:.1f} ms"
    report("3. warm stat cache re-hash / first hash", value, ratio, "< 0.05", ratio < 0.05)
    from_disk(root, again)
    details(work, root, warm, cache_file, t["auditor"], repeat)


DROP_CACHES = Path("/proc/sys/vm/drop_caches")


def from_disk(root: Path, rehash: float) -> None:
    """The same ratio when the first capture reads the data from disk, as a first capture of data usually does.

    Needs root (it drops the kernel's page cache); skipped with a message otherwise."""
    if not os.access(DROP_CACHES, os.W_OK):
        print("   3b. skipped: dropping the page cache needs root")
        return
    firsts = []
    for _ in range(3):
        subprocess.run(["sync"], check=True)
        DROP_CACHES.write_text("3\n")
        firsts.append(timed(auditor(root, lambda: None)))
    first = statistics.median(firsts)
    ratio = rehash / first
    value = f"{rehash * 1000:.1f} ms vs {first * 1000:.1f} ms"
    report("3b. warm re-hash / first hash from disk", value, ratio, "< 0.05", ratio < 0.05)


def details(work: Path, root: Path, warm: HashCache, cache_file: Path, first: float, repeat: int) -> None:
    """Where the warm re-hash time goes: the stat floor, and a fresh process that loads the cache from disk."""
    save = timed(warm.save)  # it learnt every file in its first hash and was never saved
    key = str(root.absolute())  # the cache keys a declared path by its absolute, unresolved name
    loaded = medians(repeat, load=lambda: HashCache.load(cache_file).get(key))["load"]
    t = medians(
        repeat,
        fresh=auditor(root, lambda: HashCache.load(cache_file)),
        walk=shell("find small -type f > /dev/null", work),
        stat=shell("find small -type f -printf '%s %T@\\n' > /dev/null", work),
    )
    fresh = t.pop("fresh")
    size = cache_file.stat().st_size / MIB
    print(
        f"   cache file {size:.1f} MiB: save {save * 1000:.0f} ms, load (header + this folder's entry) "
        f"{loaded * 1000:.1f} ms"
    )
    print(f"   cache from disk (load cache + re-hash): {fresh * 1000:.0f} ms = {fresh / first:.3f} of the first hash")
    for name, seconds in t.items():
        print(f"   floor, find in C, {name:<4}: {seconds * 1000:.0f} ms = {seconds / first:.3f} of the first hash")
    ratio = fresh / t["stat"]
    value = f"{fresh * 1000:.0f} ms vs {t['stat'] * 1000:.0f} ms"
    report("4. re-hash, cache from disk / find -printf '%s %T@'", value, ratio, "<= 2", ratio <= 2)
    print("   (in a new process: benchmarks/recapture_speed.py, figure 2)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None, help="where to create the test data (default: $TMPDIR)")
    parser.add_argument("--big-gib", type=float, default=2)
    parser.add_argument("--small-files", type=int, default=20000)
    parser.add_argument("--small-gib", type=float, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="auditor-hash-bench-", dir=args.dir))
    try:
        print(f"{os.cpu_count()} CPUs, data in {work}")
        big_file(work, args.big_gib, args.repeat)
        small_files(work, args.small_files, args.small_gib, args.repeat)
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
