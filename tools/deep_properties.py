"""Run the property-based and fuzz tests under the deep hypothesis profile and print what they covered.

    python tools/deep_properties.py                      # HYPOTHESIS_PROFILE=deep (2000 examples per op)
    python tools/deep_properties.py --examples 300 -j 2  # time-boxed: 300 per op, 2 pytest workers
    python tools/deep_properties.py -k "Conv or Resize"  # a subset (pytest -k expression)
    python tools/deep_properties.py --json out.json      # also write the counts as JSON

Counts come from the tests themselves (tests/properties/stats.py writes them when
PROPERTIES_STATS_DIR is set); failures from pytest's JUnit XML. A pytest run that
dies without a report (a segfault in a worker) is counted as a crash.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = [
    "tests/properties/test_single_ops.py",
    "tests/properties/test_chains.py",
    "tests/properties/test_regressions.py",
    "tests/hostile/test_fuzz_frontend.py",
]


def _memory_cap(gb: float):
    """Cap each test process's address space: a model-sized allocation then fails with MemoryError (which the
    tests report) instead of waking the OOM killer, which takes an xdist worker down and can hang the run."""
    if not gb or sys.platform != "linux":
        return None

    def apply():
        import resource

        limit = int(gb * (1 << 30))
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def _merge_stats(folder: Path) -> dict[str, collections.Counter]:
    merged: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for f in sorted(folder.glob("stats-*.json")):
        for kind, counts in json.loads(f.read_text()).items():
            merged[kind].update(counts)
    return merged


def _junit(path: Path) -> dict:
    out = {"tests": 0, "failures": [], "errors": [], "skipped": 0, "xfailed": 0}
    if not path.is_file():
        return out
    root = ET.parse(path).getroot()
    for case in root.iter("testcase"):
        out["tests"] += 1
        name = f"{case.get('classname')}::{case.get('name')}"
        for child in case:
            if child.tag == "failure":
                out["failures"].append((name, (child.get("message") or "")[:300]))
            elif child.tag == "error":
                out["errors"].append((name, (child.get("message") or "")[:300]))
            elif child.tag == "skipped":
                if "xfail" in (child.get("type") or "") or "xfail" in (child.get("message") or "").lower():
                    out["xfailed"] += 1
                else:
                    out["skipped"] += 1
    return out


def summarize(stats: dict, junit: dict, returncode: int, seconds: float, profile: str) -> dict:
    single = stats.get("single_op", collections.Counter())
    per_op = sorted(single.values())
    fuzz_outcomes = dict(stats.get("fuzz_outcome", {}))
    crashed = returncode < 0 or (returncode != 0 and junit["tests"] == 0)
    return {
        "profile": profile,
        "seconds": round(seconds, 1),
        "ops_covered": len(single),
        "examples_total": sum(per_op),
        "examples_per_op": {
            "min": per_op[0] if per_op else 0,
            "median": statistics.median(per_op) if per_op else 0,
            "max": per_op[-1] if per_op else 0,
        },
        "examples_by_op": dict(sorted(single.items())),
        "ort_rejected": dict(stats.get("ort_rejected", {})),
        "known_bug_skips": dict(stats.get("known_bug", {})),
        "chains": sum(stats.get("chain", {}).values()),
        "chain_ops": dict(sorted(stats.get("chain_op", {}).items())),
        "chain_lengths": dict(sorted(stats.get("chain_length", {}).items())),
        "chain_passes": dict(sorted(stats.get("chain_pass", {}).items())),
        "malformed_models": sum(stats.get("fuzz", {}).values()),
        "fuzz_outcomes": fuzz_outcomes,
        "fuzz_mutations": dict(stats.get("fuzz_kind", {})),
        "tests": junit["tests"],
        "failures": junit["failures"] + junit["errors"],
        "xfailed": junit["xfailed"],
        "crashes": int(crashed),
        "returncode": returncode,
    }


def print_report(s: dict) -> None:
    print(f"\nprofile {s['profile']}: {s['tests']} tests in {s['seconds']} s")
    e = s["examples_per_op"]
    print(
        f"ops covered: {s['ops_covered']}; examples {s['examples_total']} (per op min {e['min']}, median {e['median']}, max {e['max']})"
    )
    for op, n in s["examples_by_op"].items():
        print(f"  {op:28s} {n}")
    print(f"chains: {s['chains']} (lengths {s['chain_lengths']})")
    print(f"  ops in chains: {s['chain_ops']}")
    print(f"  passes that fired: {s['chain_passes']}")
    print(f"malformed models tried: {s['malformed_models']}; outcomes {s['fuzz_outcomes']}")
    print(f"  mutations: {s['fuzz_mutations']}")
    if s["ort_rejected"]:
        print(f"cases onnxruntime itself refused (discarded): {s['ort_rejected']}")
    if s["known_bug_skips"]:
        print(f"examples skipped as known open bugs: {s['known_bug_skips']}")
    print(f"xfailed regression tests (open bugs): {s['xfailed']}")
    print(f"failures: {len(s['failures'])}; crashes: {s['crashes']}")
    for name, msg in s["failures"]:
        print(f"  FAIL {name}: {msg.splitlines()[0] if msg else ''}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="deep", help="hypothesis profile (ci, dev, deep)")
    ap.add_argument("--examples", type=int, help="override examples per test (PROPERTIES_MAX_EXAMPLES)")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="pytest-xdist workers")
    ap.add_argument("-k", dest="keyword", help="pytest -k expression")
    ap.add_argument("--json", type=Path, help="write the summary here")
    ap.add_argument("--log", type=Path, help="keep pytest's full output here")
    ap.add_argument("--mem-limit-gb", type=float, default=8.0, help="address-space cap per test process (0: none)")
    ap.add_argument("targets", nargs="*", default=TARGETS)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="deep-properties-") as tmp:
        tmp = Path(tmp)
        env = dict(os.environ, HYPOTHESIS_PROFILE=args.profile, PROPERTIES_STATS_DIR=str(tmp / "stats"))
        if args.examples:
            env["PROPERTIES_MAX_EXAMPLES"] = str(args.examples)
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-W",
            "ignore",
            f"--junitxml={tmp / 'junit.xml'}",
        ]
        if args.jobs > 1:
            cmd += ["-n", str(args.jobs), "--dist", "loadgroup"]
        if args.keyword:
            cmd += ["-k", args.keyword]
        cmd += args.targets
        print("running:", " ".join(cmd), flush=True)
        start = time.perf_counter()
        # Stream pytest's progress; keep the whole log for the failure details (--log).
        log = tmp / "pytest.log"
        with log.open("w") as fh:
            proc = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                preexec_fn=_memory_cap(args.mem_limit_gb),
            )  # fmt: skip
            for line in proc.stdout:
                fh.write(line)
                if "onnxruntime:" not in line and line.strip():
                    print(line.rstrip()[:300], flush=True)
            returncode = proc.wait()
        seconds = time.perf_counter() - start
        if args.log:
            args.log.write_text(log.read_text())
        summary = summarize(_merge_stats(tmp / "stats"), _junit(tmp / "junit.xml"), returncode, seconds, args.profile)
    print_report(summary)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n")
    return 0 if not summary["failures"] and not summary["crashes"] else 1


if __name__ == "__main__":
    sys.exit(main())
