"""Hardware collection: against this machine, and against real H100 output for the GPU path.

No GPU can be reached from this machine or CI, so the NVML path is driven by a stand-in
that answers each NVML call with the values real NVML gave on an H100 machine
(tests/fixtures/gpu-reference/gpu-facts.json), and the result is checked against what
`nvidia-smi` printed on that same machine. The "no driver" path runs against the real
pynvml on this machine.
"""

from __future__ import annotations

import csv
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pynvml
import pytest

from auditor.capture.collect.hardware import collect_cpu, collect_gpus, collect_memory, cpu_model
from auditor.record.models import Gpus, Missing, NoGpu
from tests.conftest import FIXTURES

REFERENCE = FIXTURES / "gpu-reference"


def reference_nvml(**overrides: Any) -> SimpleNamespace:
    """An NVML answering with what the real library reported on the reference H100."""
    facts = json.loads((REFERENCE / "gpu-facts.json").read_text())["nvml"]
    gpus = facts["gpus"]

    def device(handle: int) -> dict[str, Any]:
        return gpus[handle]  # type: ignore[no-any-return]

    api = SimpleNamespace(
        NVMLError=pynvml.NVMLError,
        NVML_ERROR_LIBRARY_NOT_FOUND=pynvml.NVML_ERROR_LIBRARY_NOT_FOUND,
        NVML_ERROR_DRIVER_NOT_LOADED=pynvml.NVML_ERROR_DRIVER_NOT_LOADED,
        nvmlInit=lambda: None,
        nvmlShutdown=lambda: None,
        nvmlDeviceGetCount=lambda: len(gpus),
        nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetName=lambda h: device(h)["name"],
        nvmlDeviceGetUUID=lambda h: device(h)["uuid"],
        nvmlDeviceGetMemoryInfo=lambda h: SimpleNamespace(total=device(h)["memory_total"]),
        nvmlDeviceGetPciInfo=lambda h: SimpleNamespace(busId=device(h)["pci_bus_id"].encode()),
        nvmlDeviceGetCudaComputeCapability=lambda h: tuple(device(h)["compute_capability"]),
        nvmlDeviceGetSerial=lambda h: device(h)["serial"],
        nvmlDeviceGetVbiosVersion=lambda h: device(h)["vbios"],
        nvmlDeviceGetPowerManagementLimit=lambda h: device(h)["power_limit_mw"],
        nvmlSystemGetDriverVersion=lambda: facts["driver"],
        nvmlSystemGetCudaDriverVersion=lambda: facts["cuda_driver_version"],
        nvmlSystemGetNVMLVersion=lambda: facts["nvml_version"],
    )
    for name, value in overrides.items():
        setattr(api, name, value)
    return api


def raises(code: int) -> Any:
    def fail(*_args: object) -> None:
        raise pynvml.NVMLError(code)

    return fail


def test_gpu_facts_match_nvidia_smi_on_the_reference_machine() -> None:
    gpus = collect_gpus(reference_nvml())  # type: ignore[arg-type]
    assert isinstance(gpus, Gpus)
    with (REFERENCE / "nvidia-smi-query.csv").open() as handle:
        rows = [{k.strip(): v.strip() for k, v in row.items()} for row in csv.DictReader(handle)]
    assert len(gpus.devices) == len(rows) == 1
    gpu, smi = gpus.devices[0], rows[0]
    assert gpu.name == smi["name"] == "NVIDIA H100 80GB HBM3"
    assert gpu.uuid == smi["uuid"]
    assert gpu.memory_total_bytes == int(smi["memory.total [MiB]"].split()[0]) * 2**20
    assert gpu.pci_bus_id == smi["pci.bus_id"]
    assert gpu.compute_capability == smi["compute_cap"] == "9.0"
    assert gpus.driver_version == smi["driver_version"]
    xml = ET.parse(REFERENCE / "nvidia-smi-q.xml").getroot()  # noqa: S314 - our own fixture
    assert gpus.cuda_driver_version == xml.findtext("cuda_version") == "13.0"
    assert gpu.serial == xml.findtext("gpu/serial")
    assert gpu.vbios == xml.findtext("gpu/vbios_version")
    assert gpu.power_limit_w == 700.0


def test_this_machine_without_a_driver_reports_no_gpu() -> None:
    gpus = collect_gpus()  # the real pynvml, on a machine with no NVIDIA driver
    assert isinstance(gpus, NoGpu)
    assert gpus.reason == "no NVIDIA driver found (libnvidia-ml.so.1 cannot be loaded)"


def test_unsupported_optional_fields_are_left_out() -> None:
    nvml = reference_nvml(
        nvmlDeviceGetSerial=raises(pynvml.NVML_ERROR_NOT_SUPPORTED),
        nvmlDeviceGetPowerManagementLimit=raises(pynvml.NVML_ERROR_NOT_SUPPORTED),
    )
    gpus = collect_gpus(nvml)  # type: ignore[arg-type]
    assert isinstance(gpus, Gpus)
    assert gpus.devices[0].serial is None and gpus.devices[0].power_limit_w is None


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"nvmlInit": raises(pynvml.NVML_ERROR_DRIVER_NOT_LOADED)}, NoGpu),
        ({"nvmlInit": raises(pynvml.NVML_ERROR_NO_PERMISSION)}, Missing),
        ({"nvmlDeviceGetCount": lambda: 0}, NoGpu),
        ({"nvmlDeviceGetUUID": raises(pynvml.NVML_ERROR_GPU_IS_LOST)}, Missing),
    ],
)
def test_failures_are_never_reported_as_captured(override: dict[str, Any], expected: type) -> None:
    assert isinstance(collect_gpus(reference_nvml(**override)), expected)  # type: ignore[arg-type]


def test_cpu_and_memory_match_this_machine() -> None:
    cpu = collect_cpu()
    assert not isinstance(cpu, Missing)
    assert cpu.logical_cores == os.cpu_count()
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    total_kib = int(next(line for line in meminfo if line.startswith("MemTotal:")).split()[1])
    memory = collect_memory()
    assert not isinstance(memory, Missing)
    assert memory.total_bytes == total_kib * 1024
    model_lines = [line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
    assert cpu.model == model_lines[0].split(":", 1)[1].strip()


def test_cpu_model_from_arm_style_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nBogoMIPS\t: 50.00\nHardware\t: BCM2835\n")
    assert cpu_model(cpuinfo) == "BCM2835"
