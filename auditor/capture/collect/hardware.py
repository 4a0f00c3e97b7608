"""CPU, memory and NVIDIA GPUs (through NVML, the library nvidia-smi itself uses)."""

from __future__ import annotations

import contextlib
import ctypes
import platform
from pathlib import Path
from types import ModuleType
from typing import Any

from auditor.record.models import CpuInfo, Gpu, Gpus, Hardware, MemoryInfo, Missing, NoGpu


def collect_hardware(nvml: ModuleType | None = None) -> Hardware:
    return Hardware(cpu=collect_cpu(), memory=collect_memory(), gpus=collect_gpus(nvml))


def collect_cpu() -> CpuInfo | Missing:
    import psutil  # here: hardware is collected in a thread while the command runs, off the start-up path

    logical = psutil.cpu_count(logical=True)
    if not logical:
        return Missing(reason="the number of CPUs could not be determined")
    return CpuInfo(
        model=cpu_model(),
        architecture=platform.machine(),
        physical_cores=psutil.cpu_count(logical=False),
        logical_cores=logical,
    )


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or None
    for key in ("model name", "Hardware", "Processor", "cpu model"):
        for line in text.splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip() == key and value.strip():
                return value.strip()
    return platform.processor() or None


def collect_memory() -> MemoryInfo | Missing:
    import psutil

    try:
        return MemoryInfo(total_bytes=psutil.virtual_memory().total)
    except (OSError, RuntimeError) as exc:
        return Missing(reason=f"memory size could not be read: {exc}")


def collect_gpus(nvml: ModuleType | None = None) -> Gpus | NoGpu | Missing:
    """GPUs as NVML reports them; "no GPU" only when NVML is absent or lists none."""
    if nvml is None:
        if not _nvml_library_present():
            return NoGpu(reason=f"no NVIDIA driver found ({NVML_LIBRARY} cannot be loaded)")
        import pynvml

        nvml = pynvml
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:
        if _is(nvml, exc, "NVML_ERROR_LIBRARY_NOT_FOUND", "NVML_ERROR_DRIVER_NOT_LOADED"):
            return NoGpu(reason=f"no NVIDIA driver found (NVML: {_text(exc)})")
        return Missing(reason=f"NVML could not be initialised: {_text(exc)}")
    try:
        return _read_gpus(nvml)
    except nvml.NVMLError as exc:
        return Missing(reason=f"NVML query failed: {_text(exc)}")
    finally:
        with contextlib.suppress(nvml.NVMLError):
            nvml.nvmlShutdown()


NVML_LIBRARY = "libnvidia-ml.so.1"


def _nvml_library_present() -> bool:
    """The same dlopen pynvml would do, without importing pynvml (~40 ms) when it must fail."""
    try:
        ctypes.CDLL(NVML_LIBRARY)
    except OSError:
        return False
    return True


def _read_gpus(nvml: Any) -> Gpus | NoGpu:
    count = nvml.nvmlDeviceGetCount()
    if count == 0:
        return NoGpu(reason="the NVIDIA driver is loaded but reports no GPU")
    devices = []
    for index in range(count):
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        major, minor = _optional(nvml, nvml.nvmlDeviceGetCudaComputeCapability, handle) or (None, None)
        power_mw = _optional(nvml, nvml.nvmlDeviceGetPowerManagementLimit, handle)
        pci = _optional(nvml, nvml.nvmlDeviceGetPciInfo, handle)
        devices.append(
            Gpu(
                index=index,
                name=_str(nvml.nvmlDeviceGetName(handle)),
                uuid=_str(nvml.nvmlDeviceGetUUID(handle)),
                memory_total_bytes=int(nvml.nvmlDeviceGetMemoryInfo(handle).total),
                pci_bus_id=_str(pci.busId) if pci is not None else None,
                compute_capability=f"{major}.{minor}" if major is not None else None,
                serial=_opt_str(_optional(nvml, nvml.nvmlDeviceGetSerial, handle)),
                vbios=_opt_str(_optional(nvml, nvml.nvmlDeviceGetVbiosVersion, handle)),
                power_limit_w=power_mw / 1000 if power_mw is not None else None,
            )
        )
    cuda = _optional(nvml, nvml.nvmlSystemGetCudaDriverVersion)
    return Gpus(
        source="nvml",
        driver_version=_str(nvml.nvmlSystemGetDriverVersion()),
        cuda_driver_version=f"{cuda // 1000}.{cuda % 1000 // 10}" if cuda else None,
        nvml_version=_opt_str(_optional(nvml, nvml.nvmlSystemGetNVMLVersion)),
        devices=tuple(devices),
    )


def _optional(nvml: Any, getter: Any, *args: Any) -> Any:
    """Values some GPUs do not support (serial on consumer cards, say) are left out."""
    try:
        return getter(*args)
    except nvml.NVMLError:
        return None


def _is(nvml: Any, exc: Exception, *names: str) -> bool:
    codes = {getattr(nvml, name) for name in names if hasattr(nvml, name)}
    return getattr(exc, "value", None) in codes


def _text(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else _str(value)
