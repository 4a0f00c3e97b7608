"""Policy: rule packs evaluated against a run record, producing findings.

run record -> (rule pack, check registry) -> engine -> findings -> formats / dossier

`auditor.check(record, policy=...)` is the library API's check (auditor/check/api.py). Python binds a
package's name to the subpackage once any of its modules is imported, so `auditor.check` may be this
package or the function: calling this package does what calling the function does, and either way
`auditor.check(...)` checks and `auditor.check.report` is the report module.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditor.check.report import CheckReport


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> CheckReport:
        from auditor.check.api import check

        return check(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
