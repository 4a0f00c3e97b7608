"""Standard formats other tools read: one run record in, one document out.

One module per format, each a pure function `(Export) -> str`; the CLI loads the store and writes.
The libraries that build the documents (cyclonedx-python-lib, spdx-python-model, prov,
openlineage-python) are the `export` extra, imported only by the format asked for: a missing one is
one line and exit 2, never a traceback.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from auditor.errors import UsageError
from auditor.extras import need

if TYPE_CHECKING:
    from auditor.export.facts import Export


@dataclass(frozen=True)
class ExportFormat:
    name: str
    summary: str
    renderer: str  # "module:function", (Export) -> str
    library: str  # the module the renderer needs, and its distribution's name on PyPI
    distribution: str

    def render(self, export: Export) -> str:
        need(self.library)
        module, function = self.renderer.split(":")
        render = cast("Callable[[Export], str]", getattr(importlib.import_module(module), function))
        return render(export)


EXPORT_FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat(
            "cyclonedx",
            "CycloneDX 1.6 JSON: packages, the model with its model card, datasets, lineage",
            "auditor.export.cyclonedx:render_cyclonedx",
            "cyclonedx",
            "cyclonedx-python-lib",
        ),
        ExportFormat(
            "spdx",
            "SPDX 3.0 JSON-LD with the AI and Dataset profiles",
            "auditor.export.spdx:render_spdx",
            "spdx_python_model",
            "spdx-python-model",
        ),
        ExportFormat(
            "prov", "W3C PROV-JSON: run, datasets, models and people", "auditor.export.prov:render_prov", "prov", "prov"
        ),
        ExportFormat(
            "openlineage",
            "OpenLineage RunEvents (START and the end), one JSON per line",
            "auditor.export.openlineage:render_openlineage",
            "openlineage.client",
            "openlineage-python",
        ),
    )
}


def export_format(name: str) -> ExportFormat:
    try:
        return EXPORT_FORMATS[name]
    except KeyError:
        raise UsageError(f"--format: {name!r} is not one of {', '.join(EXPORT_FORMATS)}") from None
