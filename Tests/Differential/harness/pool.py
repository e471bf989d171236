"""Loader worker processes: start, feed one job at a time, enforce a hard timeout, restart."""

import json
import os
import selectors
import shutil
import subprocess
import time

READY_TIMEOUT = 300
JOB_TIMEOUT = 60
RECYCLE_AFTER = 5000


class Worker:
    """One `harness.worker` process and its two pipes."""

    def __init__(self, python: str, scratch: str, log_path: str):
        self.python = python
        self.scratch = scratch
        self.log_path = log_path
        self.proc = None
        self.jobs_done = 0
        self.restarts = 0

    def start(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)
        os.makedirs(self.scratch)
        job_r, job_w = os.pipe()
        res_r, res_w = os.pipe()
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, PYTHONPATH=here, PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1",
                   MKL_NUM_THREADS="1", TMPDIR=self.scratch)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.python, "-m", "harness.worker", str(job_r), str(res_w), self.scratch],
                                     pass_fds=(job_r, res_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=log, cwd=self.scratch, env=env)
        log.close()
        os.close(job_r)
        os.close(res_w)
        self.jobs = os.fdopen(job_w, "w", buffering=1)
        self.results = res_r
        self.buffer = b""
        self.jobs_done = 0
        line = self._read_line(time.monotonic() + READY_TIMEOUT)
        if line is None or not json.loads(line).get("ready"):
            raise RuntimeError(f"loader worker did not start; see {self.log_path}")

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            self.jobs.close()
        except OSError:
            pass
        try:
            self.proc.kill()
        except OSError:
            pass
        self.proc.wait()
        os.close(self.results)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.restarts += 1
        self.start()

    def _read_line(self, deadline):
        sel = selectors.DefaultSelector()
        sel.register(self.results, selectors.EVENT_READ)
        try:
            while b"\n" not in self.buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    return None
                chunk = os.read(self.results, 1 << 16)
                if not chunk:
                    return None
                self.buffer += chunk
        finally:
            sel.close()
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def run(self, job: dict) -> dict:
        """Runs one job; returns {"events": [...], "loaders": {...}, "globals": [...], "status": ...}."""
        if self.proc is None or self.jobs_done >= RECYCLE_AFTER:
            self.restart() if self.proc is not None else self.start()
        events = []
        try:
            self.jobs.write(json.dumps(job) + "\n")
            self.jobs.flush()
        except OSError:
            self.restart()
            return {"events": events, "loaders": {}, "globals": [], "status": "worker-died"}
        deadline = time.monotonic() + JOB_TIMEOUT
        while True:
            line = self._read_line(deadline)
            if line is None:
                status = "hard-timeout" if self.proc.poll() is None else f"worker-died:{self.proc.returncode}"
                self.restart()
                return {"events": events, "loaders": {}, "globals": [], "status": status}
            message = json.loads(line)
            if message.get("id") != job["id"]:
                continue
            if "event" in message:
                events.append(message["event"])
                continue
            self.jobs_done += 1
            if message.get("restart"):
                self.restart()
            return {"events": events, "loaders": message.get("loaders", {}), "globals": message.get("globals", []),
                    "tampered": message.get("tampered", []), "status": "done"}

