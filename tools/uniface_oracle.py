"""Run upstream uniface 4.2.1 on our model files and save its outputs as test fixtures.

    python tools/uniface_oracle.py                       # every family
    python tools/uniface_oracle.py --family scrfd centerface
    python tools/uniface_oracle.py --list

Upstream is the oracle for pre/post-processing. It runs in its own venv
(`--venv`, default /work/venvs/uniface4, created with `uniface==4.2.1` and
onnxruntime when missing), never in this interpreter, where `uniface` is
ours. For each family (tools/oracle_families/) the tool builds the stand-ins
it needs, hands upstream the files with the expected sha256 replaced in its
registry (in that subprocess only), and writes what upstream returned to
`tests/uniface/fixtures/upstream4/<family>.json`, together with the sha256 of
every file and the upstream version, so a test can tell a stale fixture from
a regression. Stand-ins are seeded, so the fixtures stay valid until a
stand-in's builder changes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.oracle_families import families  # noqa: E402
from tools.oracle_families.api import SHARED, Family  # noqa: E402

UPSTREAM = "uniface==4.2.1"
DEFAULT_VENV = Path(os.environ.get("UNIFACE_ORACLE_VENV", "/work/venvs/uniface4"))
SHARED_DIR = ROOT.parent / "shared"
FIXTURES = ROOT / "tests" / "uniface" / "fixtures" / "upstream4"
VENV_MAIN = ROOT / "tools" / "oracle_families" / "_venv_main.py"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def clean_env() -> dict[str, str]:
    """The environment for the venv's processes: no PYTHONPATH (it would put our `uniface` first)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "UNIFACE_BACKEND")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def ensure_venv(venv: Path) -> Path:
    """A venv with upstream uniface and onnxruntime; created (and pip-installed) on first use."""
    python = venv_python(venv)
    probe = [str(python), "-c", "import uniface, onnxruntime; print(uniface.__version__)"]
    if python.is_file():
        done = subprocess.run(probe, capture_output=True, text=True, env=clean_env(), cwd="/")
        if done.returncode == 0 and done.stdout.strip() == UPSTREAM.split("==")[1]:
            return python
    print(f"creating {venv} with {UPSTREAM} and onnxruntime", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", UPSTREAM, "onnxruntime"], check=True, env=clean_env()
    )
    subprocess.run(probe, check=True, env=clean_env(), cwd="/")
    return python


def weight_files(family: Family, standin_dir: Path) -> list[tuple[str, Path, str]]:
    """(enum, path, origin) per slot, stand-ins built into `standin_dir` as needed."""
    from tools import standins

    out = []
    for slot in family.weights:
        if slot.origin == SHARED:
            path = SHARED_DIR / "models" / slot.file
            if not path.is_file():
                raise FileNotFoundError(f"{family.name}: {slot.enum} needs {path}")
        else:
            path = standin_dir / slot.file
            if not path.is_file():
                standins.write(standin_dir, [slot.file])
        out.append((slot.enum, path, slot.origin))
    return out


def image_files(family: Family) -> list[Path]:
    folder = SHARED_DIR / "images"
    if family.images:
        return [folder / name for name in family.images]
    return sorted(folder.glob("*.jpg"))


def run_family(python: Path, family: Family, standin_dir: Path, out_dir: Path) -> Path:
    """Run one family in the venv; write and return its fixture."""
    slots = weight_files(family, standin_dir)
    images = image_files(family)
    with tempfile.TemporaryDirectory(prefix="uniface-oracle-") as tmp:
        job = {
            "family": family.name,
            "weights": [{"enum": e, "path": str(p.resolve()), "sha256": sha256_of(p)} for e, p, _ in slots],
            "images": [[p.name, str(p)] for p in images],
            "out": str(Path(tmp) / "result.json"),
        }
        job_path = Path(tmp) / "job.json"
        job_path.write_text(json.dumps(job))
        started = time.perf_counter()
        done = subprocess.run(
            [str(python), str(VENV_MAIN), str(job_path)], env=clean_env(), cwd=tmp, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"upstream run of {family.name!r} failed:\n{done.stderr[-4000:]}")
        result = json.loads(Path(job["out"]).read_text())
    fixture = {
        "family": family.name,
        "upstream": f"uniface {result.pop('upstream_version')}",
        "about": family.about,
        "weights": {e: {"file": p.name, "origin": origin, "sha256": sha256_of(p)} for e, p, origin in slots},
        **result,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{family.name}.json"
    tmp_path = path.with_name(f".{path.name}.tmp")
    tmp_path.write_text(dump_fixture(fixture))
    tmp_path.replace(path)
    print(
        f"{family.name}: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return path


def dump_fixture(fixture: dict) -> str:
    """JSON with one case per line: readable diffs without one line per number."""
    head = {k: v for k, v in fixture.items() if k != "cases"}
    text = json.dumps(head, indent=1)[:-2]
    cases = ",\n".join("  " + json.dumps(case) for case in fixture.get("cases", []))
    return f'{text},\n "cases": [\n{cases}\n ]\n}}\n'


def main(argv: list[str] | None = None) -> int:
    known = families()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--family", nargs="*", choices=sorted(known), help="families to run (default: all)")
    p.add_argument("--list", action="store_true", help="list the families and their weight slots")
    p.add_argument("--venv", type=Path, default=DEFAULT_VENV, help=f"upstream venv (default {DEFAULT_VENV})")
    p.add_argument("--out", type=Path, default=FIXTURES, help="fixture folder")
    args = p.parse_args(argv)
    if args.list:
        for name, fam in sorted(known.items()):
            slots = ", ".join(f"{w.enum}={w.file} ({w.origin})" for w in fam.weights)
            print(f"{name}: {fam.about}\n    {slots}")
        return 0
    python = ensure_venv(args.venv)
    with tempfile.TemporaryDirectory(prefix="uniface-oracle-standins-") as standin_dir:
        for name in args.family or sorted(known):
            run_family(python, known[name], Path(standin_dir), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
