"""Signing the PDF dossier: median time of `sign_pdf` (and `verify_pdf`) on a dossier of demo size.

Renders one PDF/A-3b dossier from the dossier benchmark's big record (500 packages, a 200-node
lineage: about 60 pages), then signs it --repeat times per key type, B-B and B-T (certomancer's
time-stamp authority on loopback). Target (issue #13): signing adds under 1 s to `auditor report`.

    .venv/bin/python benchmarks/pdf_sign_speed.py [--repeat 9]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography import x509

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from auditor.check.options import CheckOptions, prepare  # noqa: E402
from auditor.render.dossier.make import make_report  # noqa: E402
from auditor.sign.pdf import PrivateKey, sign_pdf, verify_pdf  # noqa: E402
from auditor.store.runs import RunStore  # noqa: E402
from benchmarks.dossier_speed import ADVISORY_DB, big_record  # noqa: E402
from tests.sign.pdf_pki import Pki, tsa_server  # noqa: E402


def dossier_pdf(root: Path) -> tuple[bytes, int]:
    store = RunStore.create(root / "store")
    record = big_record()
    store.commit(store.begin(record.identity.run_id), record)
    options = CheckOptions(
        run_ref="latest", store=root / "store", cwd=root, vuln_source="local", advisory_db=ADVISORY_DB
    )
    written = make_report(prepare(options, {"AUDITOR_CACHE_DIR": str(root / "cache")}), root / "out", ("pdf",), True)
    return written.files[0].read_bytes(), written.pdf_pages or 0


def median_s(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        pdf, pages = dossier_pdf(Path(scratch))
    print(f"dossier: {pages} pages, {len(pdf) / 1e6:.1f} MB (PDF/A-3b)")
    pki = Pki()
    for kind in ("ed25519", "p256", "p384", "rsa"):
        key, cert = pki.leaf(kind)

        def sign(key: PrivateKey = key, cert: x509.Certificate = cert, tsa: str | None = None) -> bytes:
            return sign_pdf(pdf, key=key, certificate=cert, chain=[pki.root], tsa_url=tsa, reason="benchmark")

        signed = sign()
        plain = median_s(args.repeat, sign)
        with tsa_server(pki) as server:
            stamped = median_s(args.repeat, lambda s=sign, url=server.url: s(tsa=url))
        check = median_s(args.repeat, lambda b=signed: verify_pdf(b, trust_roots=[pki.root]))
        print(
            f"{kind:8} sign B-B median {plain * 1000:6.0f} ms, B-T (loopback TSA) {stamped * 1000:6.0f} ms, "
            f"verify {check * 1000:6.0f} ms  (of {args.repeat}; target: signing < 1000 ms)"
        )


if __name__ == "__main__":
    main()
