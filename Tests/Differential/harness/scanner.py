"""Runs `modelsec scan --json` on a batch of cases and gives one verdict per case.

One invocation scans many paths (the report lists every file); each reported
file is attributed to its case by the first path component (cases live in
directories named after their index). If the scanner dies or prints no JSON,
the batch is split in halves until the failing case is isolated; a case the
scanner cannot get through is a `scanner-crash` verdict, never a pass.
"""

import json
import subprocess
from dataclasses import dataclass, field

SCAN_TIMEOUT = 300


@dataclass
class Verdict:
    """What the scanner said about one case."""

    findings: list = field(default_factory=list)  # (severity, kind, location, message)
    skipped: list = field(default_factory=list)
    files: int = 0
    crash: str | None = None

    def passes(self, pass_suspicious: bool = False) -> bool:
        if self.crash:
            return False
        if pass_suspicious:
            return all(f[0] == "suspicious" for f in self.findings)
        return not self.findings


def _run(binary, cwd, targets):
    try:
        proc = subprocess.run([binary, "scan", "--json", *targets], cwd=cwd, capture_output=True,
                              timeout=SCAN_TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, "timeout"
    if proc.returncode not in (0, 1, 2):
        return None, f"exit {proc.returncode}: {proc.stderr.decode('utf-8', 'replace')[-300:]}"
    try:
        return json.loads(proc.stdout), None
    except ValueError:
        return None, f"no JSON (exit {proc.returncode}): {proc.stderr.decode('utf-8', 'replace')[-300:]}"


def scan(binary: str, cwd: str, targets: dict) -> dict:
    """targets: case index -> path relative to `cwd`. Returns case index -> Verdict."""
    verdicts = {index: Verdict() for index in targets}
    pending = [list(targets)]
    while pending:
        group = pending.pop()
        report, error = _run(binary, cwd, [targets[i] for i in group])
        if report is None:
            if len(group) == 1:
                verdicts[group[0]].crash = error
            else:
                pending += [group[: len(group) // 2], group[len(group) // 2:]]
            continue
        for entry in report.get("files", []):
            index = int(str(entry["path"]).split("/")[0])
            v = verdicts[index]
            v.files += 1
            for f in entry.get("findings", []):
                v.findings.append((f.get("severity"), f.get("kind"), f.get("location"), f.get("message")))
        for path in report.get("skipped", []):
            verdicts[int(str(path).split("/")[0])].skipped.append(path)
    return verdicts
