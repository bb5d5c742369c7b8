"""Size of the generated modules: lines, characters, classes, submodule instances, longest name and line.

    python tools/generated_stats.py                  # generated/ as it is
    python tools/generated_stats.py --before REV     # and as it was at git revision REV, side by side

Prints a Markdown table (docs/generated-code.md quotes it).
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def stats(source: str) -> dict[str, int]:
    tree = ast.parse(source)
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    class_names = {c.name for c in classes}
    instances = sum(
        1
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in class_names
    )
    names = [n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)]
    names += [n.id for n in ast.walk(tree) if isinstance(n, ast.Name)]
    # the translated network only: helpers copied from the op set are the same whatever the layout
    first_class = min((c.lineno for c in classes), default=1)
    body = source.splitlines()[first_class - 1 :]
    return {
        "lines": len(source.splitlines()),
        "chars": len(source),
        "classes": len(classes),
        "instances": instances,
        "longest_name": max(map(len, names), default=0),
        "longest_line": max(map(len, body), default=0),
    }


def _at(rev: str) -> dict[str, str]:
    listing = subprocess.run(
        ["git", "ls-tree", "--name-only", rev, "generated/"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    out = {}
    for path in listing:
        if path.endswith(".py") and not path.endswith("__init__.py"):
            out[Path(path).stem] = subprocess.run(
                ["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout
    return out


def _now() -> dict[str, str]:
    return {p.stem: p.read_text() for p in sorted((ROOT / "generated").glob("*.py")) if p.name != "__init__.py"}


def table(now: dict[str, str], before: dict[str, str] | None = None) -> str:
    rows = []
    if before is None:
        rows.append("| module | lines | characters | classes | submodules | longest name | longest line |")
        rows.append("|---|---:|---:|---:|---:|---:|---:|")
        for name, src in sorted(now.items()):
            s = stats(src)
            rows.append(f"| {name} | {s['lines']} | {s['chars']} | {s['classes']} | {s['instances']} | "
                        f"{s['longest_name']} | {s['longest_line']} |")  # fmt: skip
        return "\n".join(rows)
    rows.append("| module | lines | characters | classes | submodules | longest name | longest line |")
    rows.append("|---|---:|---:|---:|---:|---:|---:|")
    total = {"b": [0, 0], "a": [0, 0]}
    for name in sorted(set(now) | set(before)):
        a = stats(now[name]) if name in now else None
        b = stats(before[name]) if name in before else None

        def pair(key, a=a, b=b):
            return f"{b[key] if b else '-'} → {a[key] if a else '-'}"

        rows.append(f"| {name} | {pair('lines')} | {pair('chars')} | {pair('classes')} | {pair('instances')} | "
                    f"{pair('longest_name')} | {pair('longest_line')} |")  # fmt: skip
        for side, s in (("b", b), ("a", a)):
            if s:
                total[side][0] += s["lines"]
                total[side][1] += s["chars"]
    rows.append(f"| **all** | {total['b'][0]} → {total['a'][0]} | {total['b'][1]} → {total['a'][1]} | | | | |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", metavar="REV", help="compare with generated/ at this git revision")
    args = p.parse_args(argv)
    print(table(_now(), _at(args.before) if args.before else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
