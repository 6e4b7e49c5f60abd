"""How the in-process model uses the CPU: the llama.cpp constructor arguments, chosen by measurement.

llama-cpp-python's defaults read prompts on every logical CPU but generate on half of them
(`n_threads = cpu_count // 2`): on a 2-core runner that is one core for generation, 4.6 tokens/s
against 7.6 with both (Qwen2.5-Coder-1.5B). llama.cpp's matrix code gains nothing from a second
hyperthread of the same core, so both phases use one thread per physical core we may run on.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

# llama.cpp's CPU code is built with OpenMP (libgomp). Its default lets idle team threads spin
# between graph computations; on a CPU shared with other work that spinning starves the threads
# doing the work: a 1,200-token prompt read by SmolLM2 from the Python main thread took 9.1-9.8 s
# by default and 1.8-2.3 s with OMP_WAIT_POLICY=PASSIVE (2 cores, load ~5). Inside one graph
# computation ggml synchronises with its own spin barriers, so passive costs nothing measurable
# when the CPU is idle. Read by libgomp when it loads: set before llama_cpp is first imported.
OPENMP_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}

# Tokens per llama_decode call while reading a prompt (n_batch = n_ubatch). Measured reading a
# 1,500-token prompt (SmolLM2, 2 threads, 2 cores shared with other jobs, 3 rounds each):
# 128: 66-75 tokens/s, 256: 71-84, 512: 65-93. 128 is slower; 256 and 512 are within the noise,
# so 512 stays (llama.cpp's default: fewer decode calls for long prompts).
N_BATCH = 512


def _allowed_cpus() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return list(range(os.cpu_count() or 1))


def physical_cores(sysfs: Path = Path("/sys/devices/system/cpu")) -> int:
    """Distinct (package, core) pairs among the CPUs this process may use; logical count if unknown."""
    cpus = _allowed_cpus()
    cores: set[tuple[str, str]] = set()
    for cpu in cpus:
        topology = sysfs / f"cpu{cpu}" / "topology"
        try:
            package = (topology / "physical_package_id").read_text().strip()
            core = (topology / "core_id").read_text().strip()
        except OSError:
            return max(1, len(cpus))
        cores.add((package, core))
    return max(1, len(cores))


def prepare_openmp(environ: MutableMapping[str, str]) -> None:
    """Set OPENMP_ENV in `environ` (os.environ) unless the user chose otherwise."""
    for name, value in OPENMP_ENV.items():
        environ.setdefault(name, value)


def llama_kwargs(threads: int | None = None) -> dict[str, Any]:
    """Keyword arguments for `llama_cpp.Llama` beyond the model path and context size."""
    n = threads or physical_cores()
    return {"n_threads": n, "n_threads_batch": n, "n_batch": N_BATCH, "n_ubatch": N_BATCH}
