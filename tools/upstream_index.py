"""Run by tools/bench_pipeline.py inside a venv with upstream uniface 4.2.1: index files the 4.x way and time it.

    python tools/upstream_index.py SCRFD.onnx RECOGNIZER.onnx FILE... -> JSON on stdout

Upstream looks weights up by name in its cache folder and checks their
sha256; the recognizer here is not one of its files, so its expected hash is
replaced in this process only (the detector is byte-identical to upstream's).
Per image: `detector.detect(image)`, then `get_normalized_embedding` per face,
the way 4.x code indexes a folder.
"""

import hashlib
import json
import os
import sys
import tempfile
import time


def main() -> None:
    scrfd, recognizer, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    cache = tempfile.mkdtemp()
    os.symlink(os.path.abspath(scrfd), os.path.join(cache, "scrfd_500m.onnx"))
    os.symlink(os.path.abspath(recognizer), os.path.join(cache, "mobilenetv2.onnx"))
    os.environ["UNIFACE_CACHE_DIR"] = cache
    import uniface.constants as const
    from uniface.constants import MobileFaceWeights, SCRFDWeights
    from uniface.detection import SCRFD
    from uniface.recognition import MobileFace

    import cv2

    info = const.MODEL_REGISTRY[MobileFaceWeights.MNET_V2]
    const.MODEL_REGISTRY[MobileFaceWeights.MNET_V2] = type(info)(
        url=info.url, sha256=hashlib.sha256(open(recognizer, "rb").read()).hexdigest()
    )
    detector = SCRFD(model_name=SCRFDWeights.SCRFD_500M_KPS)
    rec = MobileFace(model_name=MobileFaceWeights.MNET_V2)
    warm = cv2.imread(files[0])
    for f in detector.detect(warm)[:1]:
        rec.get_normalized_embedding(warm, f.landmarks)
    out = {"files": len(files), "faces": 0, "embeddings": {}}
    started = time.perf_counter()
    for path in files:
        image = cv2.imread(path)
        if image is None:
            continue
        faces = detector.detect(image)
        out["embeddings"][path] = [rec.get_normalized_embedding(image, f.landmarks).ravel().tolist() for f in faces]
        out["faces"] += len(faces)
    out["seconds"] = time.perf_counter() - started
    print(json.dumps(out))


if __name__ == "__main__":
    main()
