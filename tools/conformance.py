"""Conformance report: every ONNX node test case through both translation modes.

    python tools/conformance.py                 # all cases, 2 workers -> docs/conformance.{md,json}
    python tools/conformance.py --op Conv       # rerun one op and update its entries in the report
    python tools/conformance.py --jobs 1 --timeout 120 --out /tmp/report

Each case runs in a worker process (tools.node_tests.run_case, both modes,
the case's own expected outputs and tolerances). A case that hangs past the
timeout or kills its worker is recorded as "crash" and the worker is
replaced, so one bad case cannot stop the run.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import multiprocessing
import os
import platform
import re
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STATUSES = ("pass", "fail", "unsupported", "error", "crash")
DEFAULT_OUT = ROOT / "docs"
DEFAULT_TIMEOUT = 60.0
# Replace a worker after this many cases (bounds memory held by MLX caches and imported modules).
CASES_PER_WORKER = 250


# -- worker side ------------------------------------------------------------------


def _identical(outputs: dict) -> bool | None:
    """Whether module and oplist produced bit-identical outputs (None if both did not run)."""
    from tools.node_tests import same_array

    if len(outputs) != 2:
        return None
    a, b = outputs.values()
    if len(a) != len(b):
        return False
    for oa, ob in zip(a, b):
        if len(oa) != len(ob) or not all(same_array(x, y) for x, y in zip(oa, ob)):
            return False
    return True


def _worker(conn, modes: tuple[str, ...], quiet: bool) -> None:
    """Receive case names, send back results, until told to stop (None)."""
    import warnings

    if quiet:  # generated code, MLX and numpy may print; keep the parent's terminal readable
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
    warnings.simplefilter("ignore")
    from tools.node_tests import all_cases, run_case

    cases = {c.name: c for c in all_cases()}
    conn.send(("ready",))
    while True:
        try:
            name = conn.recv()
        except EOFError:
            return
        if name is None:
            return
        start = time.perf_counter()
        try:
            r = run_case(cases[name], modes)
            status, reason, identical = r.status, r.reason, _identical(r.outputs)
        except Exception as exc:  # noqa: BLE001  (outside run_case's own guard: still the case's crash)
            status, reason, identical = "crash", f"{type(exc).__name__}: {str(exc)[:300]}", None
        conn.send(("done", name, status, reason, identical, round(time.perf_counter() - start, 3)))


# -- parent side --------------------------------------------------------------------


@dataclass
class _Slot:
    ctx: object
    modes: tuple[str, ...]
    quiet: bool
    proc: object = None
    conn: object = None
    ready: bool = False
    case: str | None = None
    started: float = 0.0
    done: int = 0

    def start(self) -> None:
        parent, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child, self.modes, self.quiet), daemon=True)
        self.proc.start()
        child.close()
        self.conn, self.ready, self.case, self.done = parent, False, None, 0

    def send(self, name: str) -> None:
        self.conn.send(name)
        self.case, self.started, self.ready = name, time.monotonic(), False

    def stop(self, kill: bool = False) -> None:
        if self.proc is None:
            return
        if not kill:
            try:
                self.conn.send(None)
            except (OSError, EOFError):
                pass
            self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)
        self.conn.close()
        self.proc = None


@dataclass
class Record:
    name: str
    op: str
    status: str
    reason: str = ""
    identical: bool | None = None
    seconds: float | None = None

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "op": self.op,
            "status": self.status,
            "reason": self.reason,
            "identical": self.identical,
            "seconds": self.seconds,
        }


@dataclass
class Run:
    records: list[Record] = field(default_factory=list)
    seconds: float = 0.0
    jobs: int = 2
    timeout: float = DEFAULT_TIMEOUT


def _exit_reason(proc) -> str:
    code = proc.exitcode
    if code is not None and code < 0:
        try:
            import signal

            return f"worker killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"worker killed by signal {-code}"
    return f"worker exited with code {code}"


def run_cases(
    cases: list[tuple[str, str]],
    *,
    jobs: int = 2,
    timeout: float = DEFAULT_TIMEOUT,
    modes: tuple[str, ...] = ("module", "oplist"),
    progress=None,
    quiet: bool = True,
) -> Run:
    """Run (name, op) cases in `jobs` worker processes with a per-case timeout."""
    ctx = multiprocessing.get_context("spawn")
    ops = dict(cases)
    pending = collections.deque(name for name, _ in cases)
    results: dict[str, Record] = {}
    slots = [_Slot(ctx, modes, quiet) for _ in range(max(1, min(jobs, len(cases))))] if cases else []
    start = time.monotonic()
    for s in slots:
        s.start()

    def finish(slot: _Slot, record: Record) -> None:
        results[record.name] = record
        slot.case = None
        slot.done += 1
        if progress:
            progress(record, len(results), len(cases))

    try:
        while len(results) < len(cases):
            for s in slots:
                if s.proc is not None and s.ready and s.case is None and s.done >= CASES_PER_WORKER:
                    s.stop()
                    s.start()
                if s.proc is not None and s.ready and s.case is None and pending:
                    s.send(pending.popleft())
            busy = [s for s in slots if s.case is not None]
            now = time.monotonic()
            wait_for = min((s.started + timeout - now for s in busy), default=timeout)
            handles = [s.conn for s in slots] + [s.proc.sentinel for s in slots]
            wait(handles, timeout=max(0.0, wait_for))
            for s in slots:
                # Drain messages first: a worker may have answered and then exited.
                try:
                    while s.conn.poll():
                        msg = s.conn.recv()
                        if msg[0] == "ready":
                            s.ready = True
                        elif msg[0] == "done" and msg[1] == s.case:
                            _, name, status, reason, identical, secs = msg
                            finish(s, Record(name, ops[name], status, reason, identical, secs))
                            s.ready = True
                except (EOFError, OSError):
                    pass
                if not s.proc.is_alive():
                    if s.case is not None:
                        name = s.case
                        finish(s, Record(name, ops[name], "crash", _exit_reason(s.proc), None, None))
                    elif not s.ready:
                        raise RuntimeError(f"conformance worker failed to start ({_exit_reason(s.proc)})")
                    s.stop(kill=True)
                    s.start()
                elif s.case is not None and time.monotonic() - s.started > timeout:
                    name = s.case
                    s.stop(kill=True)
                    finish(s, Record(name, ops[name], "crash", f"timeout: no result after {timeout:g} s", None, None))
                    s.start()
    finally:
        for s in slots:
            s.stop()
    order = {name: i for i, (name, _) in enumerate(cases)}
    records = sorted(results.values(), key=lambda r: order[r.name])
    return Run(records, time.monotonic() - start, jobs, timeout)


# -- report ---------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("onnx", "mlx", "numpy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "?"
    return out


def counts(records: list[Record]) -> dict[str, int]:
    c = collections.Counter(r.status for r in records)
    return {s: c.get(s, 0) for s in STATUSES}


def to_json(records: list[Record], meta: dict) -> dict:
    return {
        **meta,
        "total": len(records),
        "counts": counts(records),
        "identical": sum(1 for r in records if r.identical),
        "both_modes_ran": sum(1 for r in records if r.identical is not None),
        "cases": [r.as_json() for r in records],
    }


# Cases whose expected data (from the ONNX reference implementation) disagree with onnxruntime, the
# project's oracle, where the translator follows onnxruntime. Reported as fails, with the reason.
ORACLE_DISAGREEMENTS = {
    name: "expected data use the unrounded `scale*in - 1` as the align_corners denominator; onnxruntime and "
    "the translator use the integer output length (onnxruntime misses these expected values by the same amount)"
    for name in (
        "test_resize_downsample_scales_linear_align_corners",
        "test_resize_downsample_scales_cubic_align_corners",
    )
}


def _cell(text: str) -> str:
    return re.sub(r"\s+", " ", text).replace("|", "\\|").strip()


def _unsupported_kind(r: Record) -> str:
    if "unsupported op(s)" in r.reason:
        return "no lowering"
    return "feature"


def to_markdown(records: list[Record], meta: dict) -> str:
    c = counts(records)
    total = len(records)
    identical = sum(1 for r in records if r.identical)
    both = sum(1 for r in records if r.identical is not None)
    unsup = collections.Counter(_unsupported_kind(r) for r in records if r.status == "unsupported")
    pct = (lambda n: f"{100.0 * n / total:.1f}%") if total else (lambda n: "-")
    lines = [
        "# ONNX node-test conformance",
        "",
        "Every test case of the ONNX specification's node test suite (`onnx.backend.test.case.node`) run "
        "through the translator in both back ends, `module` (generated `nn.Module`) and `oplist` (op-list "
        "interpreter), and compared with the case's own expected outputs and tolerances. Generated by "
        "`tools/conformance.py`; do not edit by hand.",
        "",
        "Reproduce (a long run; 2 worker processes, a 60 s limit per case):",
        "",
        "```",
        "python tools/conformance.py              # all cases -> docs/conformance.md + docs/conformance.json",
        "python tools/conformance.py --op Conv    # rerun one op, update its entries",
        "python tools/node_tests.py --op Conv -v  # the same cases in-process, for debugging",
        "```",
        "",
        "Statuses:",
        "",
        "- **pass**: both modes match the expected outputs (shape, dtype, values within the case's rtol/atol) "
        "and agree with each other bit for bit.",
        "- **fail**: the model translated and ran, but an output is wrong (or the two modes differ).",
        "- **unsupported**: the translator refused the model with a typed error: either no lowering exists "
        "yet for an op (*no lowering*), or the case needs something MLX arrays cannot hold (*feature*): "
        "strings, maps, float8/float4 and other exotic dtypes, or an "
        "attribute combination that is not expressible.",
        "- **error**: another typed translator error (invalid model, lowering error, op-list error, bad inputs).",
        "- **crash**: an untyped exception escaped, the worker process died, or the case hung past the "
        "timeout. Crashes are bugs: `tests/test_conformance.py` requires there be none.",
        "",
        f"Run: {meta.get('generated', '?')}, onnx {meta.get('versions', {}).get('onnx', '?')}, "
        f"mlx {meta.get('versions', {}).get('mlx', '?')}, {meta.get('platform', '?')}, "
        f"{meta.get('jobs', '?')} workers, {meta.get('seconds', 0):.0f} s"
        + (" (a partial rerun merged into the previous report)." if meta.get("partial_rerun") else "."),
        "",
        "## Summary",
        "",
        "| status | cases | share |",
        "|---|---:|---:|",
    ]
    for s in STATUSES:
        lines.append(f"| {s} | {c[s]} | {pct(c[s])} |")
    lines += [
        f"| **total** | **{total}** | |",
        "",
        f"Unsupported: {unsup.get('no lowering', 0)} for want of a lowering, {unsup.get('feature', 0)} for types, "
        "values or op features the translator does not (or MLX cannot) express.",
        "",
        f"Module and oplist outputs are bit-identical in **{identical}** of the {both} cases where both modes ran "
        "to completion.",
        "",
        "## Per op",
        "",
        "| op | cases | pass | fail | unsupported | error/crash |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    by_op: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for r in records:
        by_op[r.op][r.status] += 1
    for op in sorted(by_op, key=str.lower):
        k = by_op[op]
        n = sum(k.values())
        lines.append(f"| {op} | {n} | {k['pass']} | {k['fail']} | {k['unsupported']} | {k['error'] + k['crash']} |")
    bad = [r for r in records if r.status != "pass"]
    lines += ["", f"## Non-passing cases ({len(bad)})", ""]
    if bad:
        lines += ["| case | op | status | reason |", "|---|---|---|---|"]
        lines += [
            f"| `{r.name}` | {r.op} | {r.status} | {_cell(r.reason)}"
            + (f" — {ORACLE_DISAGREEMENTS[r.name]}" if r.name in ORACLE_DISAGREEMENTS else "")
            + " |"
            for r in bad
        ]
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def load_records(path: Path) -> tuple[list[Record], dict]:
    doc = json.loads(path.read_text())
    records = [
        Record(c["name"], c["op"], c["status"], c.get("reason", ""), c.get("identical"), c.get("seconds"))
        for c in doc["cases"]
    ]
    return records, doc


def write_report(records: list[Record], out_dir: Path, meta: dict) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    jpath, mpath = out_dir / "conformance.json", out_dir / "conformance.md"
    tmp = jpath.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(to_json(records, meta), indent=1) + "\n")
    os.replace(tmp, jpath)
    tmp = mpath.with_suffix(".md.tmp")
    tmp.write_text(to_markdown(records, meta))
    os.replace(tmp, mpath)
    return mpath, jpath


def select_cases(ops: list[str] | None, name: str | None) -> list[tuple[str, str]]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from tools.node_tests import all_cases, primary_op

        chosen = []
        for case in all_cases():
            op = primary_op(case)
            if ops and op not in ops:
                continue
            if name and not re.search(name, case.name):
                continue
            chosen.append((case.name, op))
    return chosen


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--op", action="append", help="only cases whose primary op is this (repeatable)")
    p.add_argument("--name", help="only cases whose name matches this regex")
    p.add_argument("--jobs", "-j", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per case (default 60)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="directory for conformance.md/.json (default docs/)")
    p.add_argument(
        "--fresh", action="store_true", help="with --op/--name: write only the selected cases instead of merging"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="print every case, not only non-passing ones")
    p.add_argument("--render", action="store_true", help="only rewrite conformance.md from the existing .json")
    args = p.parse_args(argv)

    if args.render:
        records, doc = load_records(args.out / "conformance.json")
        meta = {k: v for k, v in doc.items() if k not in ("total", "counts", "identical", "both_modes_ran", "cases")}
        mpath, _ = write_report(records, args.out, meta)
        print(f"wrote {mpath}")
        return 0

    cases = select_cases(args.op, args.name)
    if not cases:
        print("no cases selected", file=sys.stderr)
        return 2
    print(f"running {len(cases)} cases with {args.jobs} workers, {args.timeout:g} s per case", flush=True)

    def progress(r: Record, done: int, total: int) -> None:
        if args.verbose or r.status != "pass":
            print(f"[{done}/{total}] {r.status:11s} {r.name}  {r.reason[:160]}", flush=True)
        elif done % 100 == 0:
            print(f"[{done}/{total}]", flush=True)

    run = run_cases(cases, jobs=args.jobs, timeout=args.timeout, progress=progress)
    records = run.records
    merged_into = None
    jpath = args.out / "conformance.json"
    if (args.op or args.name) and not args.fresh and jpath.exists():
        merged_into = str(jpath)
        old, _ = load_records(jpath)
        new = {r.name: r for r in records}
        merged = [new.pop(r.name, r) for r in old]
        records = merged + list(new.values())
    meta = {
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "versions": _versions(),
        "platform": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
        "jobs": args.jobs,
        "timeout": args.timeout,
        "seconds": round(run.seconds, 1),
        "partial_rerun": merged_into is not None,
    }
    mpath, jpath = write_report(records, args.out, meta)
    c = counts(records)
    print(" ".join(f"{s}={c[s]}" for s in STATUSES) + f" total={len(records)} ({run.seconds:.0f} s)")
    print(f"wrote {mpath} and {jpath}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
