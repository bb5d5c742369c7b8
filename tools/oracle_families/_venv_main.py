"""Entry point inside the upstream uniface venv: patch the registry, run one family, write its JSON.

    <venv>/bin/python tools/oracle_families/_venv_main.py JOB.json

JOB.json (written by tools/uniface_oracle.py): {"family", "weights": [{"enum",
"path", "sha256"}], "images": [[name, path]], "out"}. Only this process sees
the patched registry: each slot's expected sha256 becomes our file's, and
the file is linked into a private cache folder under the name upstream
looks for (`<enum value><ext of the URL>`), so upstream loads it without
downloading anything.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/, never the repo root (our `uniface`)


def main(job_path: str) -> int:
    job = json.loads(Path(job_path).read_text())
    cache = tempfile.mkdtemp(prefix="uniface-oracle-cache-")
    os.environ["UNIFACE_CACHE_DIR"] = cache

    import uniface
    import uniface.constants as constants

    import cv2

    if not Path(uniface.__file__).resolve().is_relative_to(Path(sys.prefix).resolve()):
        raise RuntimeError(f"imported uniface from {uniface.__file__}, not from this venv ({sys.prefix})")

    from oracle_families import families
    from oracle_families.api import Context

    family = families()[job["family"]]
    members = {}
    for slot in job["weights"]:
        cls_name, member_name = slot["enum"].split(".")
        member = getattr(getattr(constants, cls_name), member_name)
        info = constants.MODEL_REGISTRY[member]
        constants.MODEL_REGISTRY[member] = constants.ModelInfo(url=info.url, sha256=slot["sha256"])
        ext = os.path.splitext(info.url)[1]
        os.symlink(slot["path"], os.path.join(cache, f"{member.value}{ext}"))
        members[slot["enum"]] = member

    images = []
    for name, path in job["images"]:
        image = cv2.imread(path)
        if image is None:
            raise FileNotFoundError(f"cannot read image {path}")
        images.append((name, image))

    result = family.run(Context(members, images, dict(job["images"])))
    result["upstream_version"] = uniface.__version__
    Path(job["out"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
