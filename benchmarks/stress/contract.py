"""Schemathesis against the service's own OpenAPI schema, over loopback, bounded in examples and time.

``positive_data_acceptance`` is left out: ``page * k <= 10 * max_k`` (a bound across two
parameters) cannot be written in OpenAPI, so schema-valid pages past it are rightly refused.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CHECKS_EXCLUDED = "positive_data_acceptance"


def schemathesis(
    base: str, max_examples: int, max_time: int, report_dir: Path, seed: int = 1
) -> dict[str, Any]:
    exe = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    report_dir.mkdir(parents=True, exist_ok=True)
    cmd = [exe, "run", f"{base}/openapi.json", "--checks", "all", "--exclude-checks", CHECKS_EXCLUDED]
    cmd += ["-n", str(max_examples), "--seed", str(seed), "--no-shrink", "--workers", "2"]
    cmd += [
        "--max-time",
        str(max_time),
        "--request-timeout",
        "60",
        "--report",
        "json",
        "--report-dir",
        str(report_dir),
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(  # in the report folder: its example cache stays out of the repo
        cmd, capture_output=True, text=True, timeout=max_time + 300, cwd=report_dir
    )
    out = proc.stdout
    generated = re.search(r"(\d+) generated", out)
    failures = re.findall(r"❌ (ST\d+ [^:]+): (\d+)", out)
    tested = re.search(r"Tested: (\d+)", out)
    return {
        "returncode": proc.returncode,
        "seconds": round(time.perf_counter() - t0, 1),
        "cases": int(generated.group(1)) if generated else None,
        "operations": int(tested.group(1)) if tested else None,
        "failures": {name: int(n) for name, n in failures},
        "excluded_checks": CHECKS_EXCLUDED,
        "tail": out[-1500:] if proc.returncode else "",
        "ok": proc.returncode == 0,
    }
