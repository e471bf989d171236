"""The differential run: generate, scan, load with the real loaders, compare.

A case the scanner passes (no finding) whose load fires a guarded event is a
BYPASS: it is printed, copied to the bypass folder with a case.json, and the
run fails. Cases the scanner flags are not loaded, except a few known-malicious
ones per attack family and container (in a forked child), which prove that
the guard sees what those files do: a family that never fires is a harness
failure, not a pass.

The last line is `differential: N passed, N failed` (failed = bypasses plus
cases the scanner crashed on).
"""

import argparse
import collections
import json
import multiprocessing
import os
import queue
import shutil
import sys
import tempfile
import threading
import time

from . import corpus, scanner
from .pool import Worker

# Containers whose payload a real loader reaches (the self-check expects an effect).
# The rest hide the payload from some readers on purpose; they count only as bypasses.
CONFUSION_ONLY = {"torch-zip-local-name", "torch-zip-duplicate"}
SELF_CHECK_TRIES = 6


def parse_args(argv):
    p = argparse.ArgumentParser(prog="run.sh", description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=2000, help="number of generated cases")
    p.add_argument("--seed", type=int, default=1, help="run seed (same seed, same files)")
    p.add_argument("--start", type=int, default=0, help="first case index (to replay a range)")
    p.add_argument("--batch", type=int, default=400, help="cases per scanner invocation")
    p.add_argument("--workers", type=int, default=2, help="loader worker processes")
    p.add_argument("--generators", type=int, default=2, help="case generator processes")
    p.add_argument("--modelsec", required=True, help="the modelsec binary under test")
    p.add_argument("--bypass-dir", required=True, help="where bypassing cases are copied")
    p.add_argument("--pass-suspicious", action="store_true",
                   help="treat files with only suspicious findings as passing (what a warn-only policy deploys)")
    p.add_argument("--only", default="", help="comma-separated case indexes to run (replay)")
    p.add_argument("--reproducers", default="",
                   help="directory of saved cases (each a folder with case.json) to scan and load instead")
    p.add_argument("--verbose", action="store_true")
    return p.parse_args(argv)


class Run:
    """Counters and the self-check ledger of one run."""

    def __init__(self, args):
        self.args = args
        self.kinds = collections.Counter()
        self.passed_scan = 0
        self.loaded = 0
        self.bypasses = []
        self.crashes = []
        self.load_status = collections.Counter()
        self.flagged_benign = collections.Counter()
        self.tampered = 0
        self.fired = {"family": collections.Counter(), "container": collections.Counter()}
        self.checked = {"family": collections.Counter(), "container": collections.Counter()}
        self.benign_loaded = collections.Counter()
        self.benign_ok = collections.Counter()
        self.bypass_classes = collections.OrderedDict()
        self.seconds = collections.Counter()  # generate / scan / load wall time per stage
        self.reproducers = []
        self.unavailable_imports = 0
        self.errors = []  # harness failures (a worker that cannot start, ...): the run proves nothing
        self.lock = threading.Lock()


def _family_parts(case):
    # "malicious:FAMILY@CONTAINER" (mutants keep their base after "<-")
    family, _, container = case.family.split(":", 1)[1].partition("@")
    return family, container


def _wants_self_check(run, case) -> bool:
    if case.kind != "malicious" or not case.effect_expected:
        return False
    family, container = _family_parts(case)
    need_family = run.fired["family"][family] == 0 and run.checked["family"][family] < SELF_CHECK_TRIES
    need_container = (container not in CONFUSION_ONLY and run.fired["container"][container] == 0
                      and run.checked["container"][container] < SELF_CHECK_TRIES)
    return need_family or need_container


def _save_bypass(run, case, verdict, result, case_dir):
    dest = os.path.join(run.args.bypass_dir, f"seed{run.args.seed}-case{case.index}")
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(case_dir, dest)
    info = {"seed": run.args.seed, "index": case.index, "kind": case.kind, "family": case.family,
            "layout": case.layout, "main": case.main, "events": result["events"], "loaders": result["loaders"],
            "globals_resolved": result["globals"], "scanner_skipped": verdict.skipped,
            "scanner_files": verdict.files,
            "replay": f"Tests/Differential/run.sh --seed {run.args.seed} --only {case.index}"}
    with open(os.path.join(dest, "case.json"), "w") as f:
        json.dump(info, f, indent=2)
    return dest


def process_batch(run, workers, batch_dir, cases):
    targets = {}
    for case in cases:
        rel = str(case.index) if case.layout == "dir" else f"{case.index}/{case.main}"
        targets[case.index] = rel
    t = time.monotonic()
    verdicts = scanner.scan(run.args.modelsec, batch_dir, targets)
    run.seconds["scan"] += time.monotonic() - t
    jobs = []
    for case in cases:
        v = verdicts[case.index]
        if v.crash:
            with run.lock:
                run.crashes.append((case, v.crash))
            print(f"SCANNER-CRASH seed={run.args.seed} case={case.index} family={case.family}: {v.crash}",
                  flush=True)
            continue
        passes = v.passes(run.args.pass_suspicious)
        if case.kind == "benign" and not passes:
            run.flagged_benign[case.family] += 1
        if passes:
            run.passed_scan += 1
            jobs.append((case, v, False))
        elif case.kind == "reproducer":
            jobs.append((case, v, True))
        elif _wants_self_check(run, case):
            family, container = _family_parts(case)
            run.checked["family"][family] += 1
            run.checked["container"][container] += 1
            jobs.append((case, v, True))
    work = queue.Queue()
    for item in jobs:
        work.put(item)

    def drain(worker):
        while True:
            try:
                case, v, fork = work.get_nowait()
            except queue.Empty:
                return
            root = os.path.join(batch_dir, str(case.index))
            job = {"id": case.index, "path": os.path.join(root, case.main), "root": root, "fork": fork}
            try:
                result = worker.run(job)
                record(run, case, v, fork, result, root)
            except Exception as e:  # a harness failure must fail the run, never pass files unchecked
                with run.lock:
                    run.errors.append(f"case {case.index}: {type(e).__name__}: {e}")
                return

    t = time.monotonic()
    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.seconds["load"] += time.monotonic() - t


# An import of a module that is not installed cannot run code: recorded, counted, not an effect.
NO_EFFECT = {"import-unavailable"}


def record(run, case, verdict, fork, result, root):
    if any(e["event"] in NO_EFFECT for e in result["events"]):
        with run.lock:
            run.unavailable_imports += 1
    result["events"] = [e for e in result["events"] if e["event"] not in NO_EFFECT]
    if case.kind == "reproducer":
        with run.lock:
            run.reproducers.append((case, verdict, result))
            if not fork and result["events"]:
                run.bypasses.append(case)
        return
    with run.lock:
        run.loaded += 1
        statuses = list(result["loaders"].values()) or [result["status"]]
        for s in statuses:
            run.load_status[s.split(":")[0] if not s.startswith("error:") else "error"] += 1
        if result.get("tampered"):
            run.tampered += 1
        if case.kind == "benign":
            run.benign_loaded[case.family] += 1
            if "ok" in statuses:
                run.benign_ok[case.family] += 1
        if case.kind == "malicious" and result["events"]:
            family, container = _family_parts(case)
            run.fired["family"][family] += 1
            run.fired["container"][container] += 1
        if fork or not result["events"]:
            if run.args.verbose and result["events"]:
                print(f"  self-check fired case={case.index} {case.family}: {result['events'][0]}", flush=True)
            return
        dest = _save_bypass(run, case, verdict, result, root)
        run.bypasses.append(case)
        key = _bypass_class(case)
        run.bypass_classes.setdefault(key, []).append(case.index)
        first = result["events"][0]
        print(f"BYPASS seed={run.args.seed} case={case.index} family={case.family} layout={case.layout} "
              f"main={case.main} event={first['event']} ({first['detail'][:120]}) saved={dest}", flush=True)


def _bypass_class(case) -> str:
    """Groups bypasses: the container of a malicious case, the base of a mutant, the family of a benign one."""
    base = case.family.split("<-")[-1]
    if base.startswith("malicious:"):
        base = "malicious@" + base.partition("@")[2]
    return ("mutant<-" + base) if case.kind == "mutant" else base


def self_check_failures(run) -> list:
    failures = []
    for what in ("family", "container"):
        for name, n in sorted(run.checked[what].items()):
            if n and run.fired[what][name] == 0 and not (what == "container" and name in CONFUSION_ONLY):
                failures.append(f"{what} {name}: {n} known-malicious files loaded, no guarded event")
    for family, n in sorted(run.benign_loaded.items()):
        if n >= 3 and run.benign_ok[family] == 0:
            failures.append(f"benign {family}: {n} files loaded, no loader read any of them")
    return failures


def run_reproducers(run, workers, work_root) -> int:
    """Scans and loads every saved case under --reproducers; each must be flagged and must still fire."""
    source = os.path.abspath(run.args.reproducers)
    names = sorted(n for n in os.listdir(source) if os.path.isfile(os.path.join(source, n, "case.json")))
    batch_dir = os.path.join(work_root, "reproducers")
    cases = []
    for index, name in enumerate(names):
        with open(os.path.join(source, name, "case.json")) as f:
            info = json.load(f)
        shutil.copytree(os.path.join(source, name), os.path.join(batch_dir, str(index)),
                        ignore=shutil.ignore_patterns("case.json"))
        cases.append(corpus.Case(index, "reproducer", name, {}, info["main"], info["layout"], True))
    started = time.monotonic()
    process_batch(run, workers, batch_dir, cases)
    stale = 0
    for case, verdict, result in sorted(run.reproducers, key=lambda r: r[0].index):
        kinds = sorted({f[1] for f in verdict.findings})
        scan = "PASS" if verdict.passes(run.args.pass_suspicious) else "flagged " + ",".join(kinds)
        effect = f"{result['events'][0]['event']} ({result['events'][0]['detail'][:60]})" if result["events"] else "none"
        bypass = verdict.passes(run.args.pass_suspicious) and bool(result["events"])
        stale += not result["events"]
        print(f"reproducer {case.family}: scanner {scan}; load effect {effect}{'  BYPASS' if bypass else ''}")
    print(f"reproducers: {len(cases)} in {time.monotonic() - started:.1f} s; {stale} with no effect (stale)")
    for error in run.errors:
        print(f"HARNESS ERROR: {error}")
    if run.errors:
        print(f"differential: 0 passed, {len(cases)} failed")
        return 2
    failed = len(run.bypasses) + len(run.crashes)
    print(f"differential: {len(cases) - failed} passed, {failed} failed")
    return 1 if failed else (3 if stale else 0)


def main(argv=None) -> int:
    args = parse_args(argv if argv is not None else sys.argv[1:])
    args.modelsec = os.path.abspath(args.modelsec)
    args.bypass_dir = os.path.abspath(args.bypass_dir)
    os.makedirs(args.bypass_dir, exist_ok=True)
    run = Run(args)
    work_root = tempfile.mkdtemp(prefix="modelsec-differential-")
    started = time.monotonic()
    workers = [Worker(sys.executable, os.path.join(work_root, f"scratch{i}"), os.path.join(work_root, f"worker{i}.log"))
               for i in range(args.workers)]
    generators = multiprocessing.get_context("fork").Pool(args.generators)
    try:
        for w in workers:
            w.start()
        setup = time.monotonic() - started
        if args.reproducers:
            return run_reproducers(run, workers, work_root)
        indexes = [int(x) for x in args.only.split(",") if x] or list(range(args.start, args.start + args.count))
        batches = [indexes[i:i + args.batch] for i in range(0, len(indexes), args.batch)]
        pending = None
        for number, batch in enumerate(batches):
            batch_dir = os.path.join(work_root, f"batch{number}")
            os.makedirs(batch_dir)
            t = time.monotonic()
            cases = list(generators.imap(_generate, [(args.seed, i, batch_dir) for i in batch], chunksize=8))
            for case in cases:
                run.kinds[case.kind] += 1
            run.seconds["generate"] += time.monotonic() - t
            if pending is not None:
                pending.join()
            pending = threading.Thread(target=_process_and_clean, args=(run, workers, batch_dir, cases))
            pending.start()
            if number and number % 25 == 0:
                print(f"differential: {number * args.batch}/{len(indexes)} files generated, "
                      f"{len(run.bypasses)} bypasses so far, {time.monotonic() - started:.0f} s", file=sys.stderr,
                      flush=True)
        if pending is not None:
            pending.join()
    finally:
        generators.terminate()
        for w in workers:
            w.stop()
        shutil.rmtree(work_root, ignore_errors=True)
    return report(run, indexes, time.monotonic() - started, setup, workers)


def _generate(task):
    """In a generator process: makes and writes one case; returns it without its bytes."""
    seed, index, batch_dir = task
    case = corpus.make_case(seed, index)
    corpus.write_case(case, os.path.join(batch_dir, str(index)))
    case.files = {name: b"" for name in case.files}
    return case


def _process_and_clean(run, workers, batch_dir, cases):
    try:
        process_batch(run, workers, batch_dir, cases)
    except Exception as e:
        with run.lock:
            run.errors.append(f"batch {os.path.basename(batch_dir)}: {type(e).__name__}: {e}")
    finally:
        shutil.rmtree(batch_dir, ignore_errors=True)


def report(run, indexes, wall, setup, workers) -> int:
    total = len(indexes)
    failures = self_check_failures(run)
    print(f"differential: seed {run.args.seed}, {total} files ({run.kinds['benign']} benign, "
          f"{run.kinds['malicious']} malicious, {run.kinds['mutant']} mutants); scanner passed {run.passed_scan}; "
          f"loaded {run.loaded} ({dict(run.load_status)}); worker restarts {sum(w.restarts for w in workers)}")
    print(f"differential: wall {wall:.1f} s ({total / max(wall, 1e-9):.0f} files/s; worker start {setup:.1f} s; "
          f"generate {run.seconds['generate']:.1f} s, scan {run.seconds['scan']:.1f} s, "
          f"load {run.seconds['load']:.1f} s, generation overlaps scan and load)")
    fam_total = len(run.checked["family"])
    fam_fired = sum(1 for f in run.checked["family"] if run.fired["family"][f])
    print(f"self-check: attack families seen firing {fam_fired}/{fam_total}; containers "
          f"{sum(1 for c in run.checked['container'] if run.fired['container'][c])}/{len(run.checked['container'])}; "
          f"benign families loadable {sum(1 for f in run.benign_loaded if run.benign_ok[f])}/{len(run.benign_loaded)}"
          + "".join(f" (not: {f} x{n})" for f, n in sorted(run.benign_loaded.items()) if not run.benign_ok[f]))
    if run.unavailable_imports:
        print(f"loads that tried to import a module that is not installed (no effect, not a bypass): "
              f"{run.unavailable_imports}")
    if run.flagged_benign:
        print("benign files the scanner flagged (false positives or formats it refuses): " +
              ", ".join(f"{k} {v}" for k, v in sorted(run.flagged_benign.items())))
    for f in failures:
        print(f"SELF-CHECK FAILED: {f}")
    if run.bypass_classes:
        print("bypass classes (base family -> case indexes):")
        for key, idx in run.bypass_classes.items():
            print(f"  {key}: {len(idx)} ({', '.join(map(str, idx[:8]))}{', ...' if len(idx) > 8 else ''})")
    failed = len(run.bypasses) + len(run.crashes)
    for error in run.errors[:20]:
        print(f"HARNESS ERROR: {error}")
    if run.errors:
        print(f"differential: 0 passed, {total} failed")  # some files were not checked: nothing is proven
        return 2
    print(f"differential: {total - failed} passed, {failed} failed")
    if failed:
        return 1
    return 3 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
