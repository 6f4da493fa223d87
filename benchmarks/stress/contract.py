"""Schemathesis against the service's own OpenAPI schema, over loopback, with every check, bounded in
examples (never in time).

One configuration (``tests/hardening/test_hardening_contract.py`` has the same): uploads may refuse
schema-valid bytes that are not a decodable image with 400/413/415/422; OpenAPI cannot say
"an image" about a binary field.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

UPLOADS_CONFIG = """
[[operations]]
include-path-regex = "^/api/v1/(search/image|describe)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "404", "413", "415", "422", "429", "503"]
"""


def schemathesis(base: str, max_examples: int, report_dir: Path, seed: int = 1) -> dict[str, Any]:
    exe = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "schemathesis.toml").write_text(UPLOADS_CONFIG)
    cmd = [exe, "--config-file", str(report_dir / "schemathesis.toml"), "run", f"{base}/openapi.json"]
    cmd += ["--checks", "all", "-n", str(max_examples), "--seed", str(seed), "--no-shrink", "--workers", "2"]
    cmd += [
        "--request-timeout",
        "60",
        "--report",
        "json",
        "--report-dir",
        str(report_dir),
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(  # in the report folder: its example cache stays out of the repo
        cmd, capture_output=True, text=True, timeout=3600, cwd=report_dir
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
        "tail": out[-1500:] if proc.returncode else "",
        "ok": proc.returncode == 0,
    }
