"""Every executor auditor has, by the name its records give it (`origin.executor`).

Whoever builds a capture request picks one (`auditor run` by --image, `reproduce` by the
original record) and capture_run sees only the Executor interface. Neither module imports
the Docker client at import time, so listing them costs a local run nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from auditor.capture.execute.container import ContainerExecutor
from auditor.capture.execute.interface import Executor, ExecutorName
from auditor.capture.execute.local import LocalExecutor

EXECUTORS: Mapping[ExecutorName, type[Executor]] = MappingProxyType(
    {"local": LocalExecutor, "container": ContainerExecutor}
)
