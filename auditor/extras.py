"""Optional features and the extra that installs each, so a missing one is one line, not a traceback.

A CI gate installs `auditor` alone: capture, check and every text format need nothing more. The PDF
dossier (WeasyPrint and Pango, pyHanko for signatures), container runs (the docker SDK), a run
index in PostgreSQL (psycopg) and the standard exports (CycloneDX, SPDX, PROV, OpenLineage) come
with `auditor[pdf]`, `auditor[container]`, `auditor[postgresql]` and `auditor[export]`
(`auditor[all]` for all of them). Code that needs one imports it through `need`,
inside the function that uses it, so that nothing else ever loads it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from auditor.errors import UsageError

# top-level module -> (extra, what needs it: the subject of "... needs the X extra")
EXTRAS: dict[str, tuple[str, str]] = {
    "weasyprint": ("pdf", "the PDF dossier"),
    "pyhanko": ("pdf", "signing the PDF dossier"),
    "docker": ("container", "running in a container"),
    "psycopg": ("postgresql", "a run index in PostgreSQL"),
    "cyclonedx": ("export", "the CycloneDX export"),
    "spdx_python_model": ("export", "the SPDX export"),
    "prov": ("export", "the PROV export"),
    "openlineage": ("export", "the OpenLineage export"),
}
PANGO_HINT = "Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core"


class MissingExtraError(UsageError):
    """A feature whose optional dependencies are not installed (exit 2)."""


def missing_message(module: str) -> str | None:
    """The one line for a missing optional module, or None when `module` is not an optional one."""
    top = module.split(".")[0]
    if top not in EXTRAS:
        return None
    extra, feature = EXTRAS[top]
    return f"{feature} needs the {extra} extra, which is not installed: pip install 'auditor[{extra}]'"


def need(module: str) -> ModuleType:
    """Import an optional module, or raise MissingExtraError naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        message = (
            missing_message(exc.name or module) if (exc.name or module).split(".")[0] == module.split(".")[0] else None
        )
        if message is None:
            raise
        raise MissingExtraError(message) from None
    except OSError as exc:  # WeasyPrint loads Pango with ctypes when imported: a system library, not a pip one
        if module.split(".")[0] != "weasyprint":
            raise
        raise MissingExtraError(
            f"the PDF dossier needs Pango, which could not be loaded ({exc}); {PANGO_HINT}"
        ) from None


def available(module: str) -> bool:
    """Whether an optional module can be imported (it is imported, so later imports are free)."""
    try:
        need(module)
    except MissingExtraError:
        return False
    return True
