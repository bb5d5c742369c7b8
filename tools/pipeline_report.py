"""Render docs/pipeline.md and docs/pipeline.png from tools/bench_pipeline.py's JSON results."""

from __future__ import annotations

from pathlib import Path

TARGET_SPEEDUP = 2.5
TARGET_P50_MS = 5.0
TARGET_RECALL = 0.98


def _f(x, digits=2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def latency(row: dict) -> float:
    """Per-query latency on an idle core: the thread's CPU time where measured, else the wall time."""
    return row.get("cpu_p50_ms", row["p50_ms"])


def best_search_row(rows: list[dict], n: int, d: int, method: str) -> dict | None:
    """The fastest configuration of `method` reaching the recall target, else the one with the best recall."""
    mine = [r for r in rows if r["n"] == n and r["d"] == d and r["method"] == method]
    good = [r for r in mine if r["recall10"] >= TARGET_RECALL]
    if good:
        return min(good, key=latency)
    return max(mine, key=lambda r: (r["recall10"], -latency(r)), default=None)


def search_rows(results: dict, table: str) -> list[dict]:
    """Rows of one search table; rows from before the tables were named belong to the main one."""
    return [r for r in results.get("search", []) if r.get("table", "main") == table]


def _threads(n: int) -> str:
    return f"{n} thread{'s' if n != 1 else ''}"


def _rounds(r: dict) -> str:
    """The spread over the row's rounds, the load it ran under, its configuration and the build time."""
    rounds = r.get("rounds") or []
    out = ""
    if len(rounds) > 1:
        cpu, load = [x["cpu_p50_ms"] for x in rounds], [x["load_average"] for x in rounds]
        out += f"; rounds {min(cpu):.2f}-{max(cpu):.2f} ms at load average {min(load):.1f}-{max(load):.1f}"
    if r.get("setting", "-") != "-":
        out += f"; {r['setting']}"
    if r.get("build_s"):
        out += f", {r['build_s']:.0f} s to add 1M faces and build"
    return out


def targets(results: dict) -> list[str]:
    lines = ["| target | measured | met |", "|---|---|---|"]
    idx = results.get("index")
    if idx:
        ok = idx["speedup_pipeline"] >= TARGET_SPEEDUP
        lines.append(
            f"| indexing >= {TARGET_SPEEDUP}x upstream's faces/s | {idx['speedup_pipeline']:.2f}x "
            f"({idx['faces_per_s']['pipeline']:.1f} vs {idx['faces_per_s']['upstream']:.1f} faces/s) | "
            f"{'yes' if ok else 'no'} |"
        )
    for d in (128, 512):
        mine = [r for r in search_rows(results, "main") if r["n"] == 1_000_000 and r["d"] == d]
        store = sorted((r for r in mine if r["method"] == "FaceDatabase (scan)"), key=lambda r: -r["threads"])
        if not store:
            lines.append(
                f"| 1M x {d}-d: p50 <= {TARGET_P50_MS:g} ms at recall@10 >= {TARGET_RECALL} | not measured in this "
                f"run (`--sections search --sizes 1000000 --dims {d}`) | no |"
            )
        for r in store:
            ok = latency(r) <= TARGET_P50_MS and r["recall10"] >= TARGET_RECALL
            lines.append(
                f"| 1M x {d}-d: p50 <= {TARGET_P50_MS:g} ms at recall@10 >= {TARGET_RECALL} (`FaceDatabase.search`, "
                f"{_threads(r['threads'])}) | CPU p50 {latency(r):.2f} ms (wall {r['p50_ms']:.2f} ms), recall "
                f"{r['recall10']:.3f}{_rounds(r)} | {'yes' if ok else 'no'} |"
            )
    crash = results.get("crash")
    if crash:
        ok = crash["lost"] == 0 and crash["misaligned"] == 0 and crash["trials"] >= 200
        lines.append(
            f"| 0 lost/misaligned over >= 200 SIGKILL trials | {crash['trials']} trials, "
            f"{crash['acknowledged']} acknowledged records, {crash['lost']} lost, {crash['misaligned']} "
            f"misaligned | {'yes' if ok else 'no'} |"
        )
    video = results.get("video")
    if video:
        lines.append(
            f"| 0 ID switches on the synthetic clip | {video['id_switches']} switches, {video['segments']} "
            f"segments, coverage {video['coverage']:.3f} | {'yes' if video['id_switches'] == 0 else 'no'} |"
        )
    return lines


def index_section(idx: dict) -> list[str]:
    up = idx["faces_per_s"]["upstream"]
    agree = idx["upstream_agreement"]
    return [
        "## Indexing throughput",
        "",
        f"{idx['files']} files (the {idx['files'] // 3} shared photos, three times each under different names), "
        f"{idx['faces']} faces; median of {idx['rounds']} alternating rounds.",
        "",
        "| path | faces/s | vs upstream |",
        "|---|---|---|",
        f"| upstream uniface 4.2.1, onnxruntime (4.x way: detect, then one embedding per face) | {up:.1f} | 1.00x |",
        f"| ours, one image at a time (same calls) | {idx['faces_per_s']['single']:.1f} | "
        f"{idx['speedup_single']:.2f}x |",
        f"| ours, `index_folder` (decode ahead, batched embeddings, one transaction per group, into SQLite) | "
        f"{idx['faces_per_s']['pipeline']:.1f} | {idx['speedup_pipeline']:.2f}x |",
        "",
        f"Same faces as upstream in every file: {'yes' if agree['face_counts_equal'] else 'NO'}; cosine of our "
        f"embedding with upstream's (onnxruntime) over {agree['faces']} faces: min {agree['min_cosine']:.6f}.",
        "",
    ] + (
        [
            "Here `index_folder` was not faster than the one-image loop: it also commits every face durably",
            "(one fsync per group of 8 images, metadata as JSON), and its decode threads compete with the model's",
            "thread pool for the 2 cores. Batching the recognizer alone gained 10-15% per face while it was built",
            "(detection, which cannot batch with this SCRFD export's fixed batch of 1, is ~75% of the time).",
            "",
        ]
        if idx["faces_per_s"]["pipeline"] < idx["faces_per_s"]["single"]
        else []
    )


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    idx = results.get("index")
    if idx:
        names = ["upstream 4.2.1\n(onnxruntime)", "ours\none image", "ours\nindex_folder"]
        values = [idx["faces_per_s"][k] for k in ("upstream", "single", "pipeline")]
        axes[0].bar(names, values, color=["#999999", "#7fa7d9", "#1f5fb4"])
        axes[0].set_ylabel("faces / s")
        axes[0].set_title("Indexing the shared photos (2 cores)")
        for i, v in enumerate(values):
            axes[0].text(i, v, f"{v:.1f}", ha="center", va="bottom")
    curves: dict[tuple, list[dict]] = {}
    for r in search_rows(results, "main"):
        if r["method"] == "compressed scan (VectorIndex)" and r["n"] == 1_000_000:
            curves.setdefault((f"scan 1M x {r['d']}, {_threads(r['threads'])}",), []).append(r)
        elif r["method"] == "faiss HNSW" and r["n"] == 100_000 and r.get("ef"):
            curves.setdefault((f"HNSW M=32 100k x {r['d']}",), []).append(r)
    for (label,), mine in sorted(curves.items()):
        mine.sort(key=latency)
        axes[1].plot([latency(r) for r in mine], [r["recall10"] for r in mine], marker="o", label=label)
    axes[1].axhline(TARGET_RECALL, color="grey", ls="--", lw=0.8)
    axes[1].axvline(TARGET_P50_MS, color="grey", ls="--", lw=0.8)
    axes[1].set_xscale("log")
    axes[1].set_xlabel("p50 latency, CPU time of the query's critical path (ms, log)")
    axes[1].set_ylabel("recall@10")
    axes[1].set_title("Random unit vectors: candidates (scan) and ef (HNSW) sweeps")
    axes[1].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(results: dict, md_path: Path, png_path: Path) -> None:
    from tools.pipeline_notes import NOTES_AFTER, NOTES_BEFORE

    m = results.get("machine", {})
    lines = [
        "# Face pipeline: indexing, search, video, durability",
        "",
        "Generated by `python tools/bench_pipeline.py` (sections can be run separately; see its docstring).",
        f"Machine: {m.get('cores')} cores, {m.get('cpu')}, native kernels {m.get('isa')}, Python {m.get('python')};"
        f" load average at the start of the last run {m.get('load_average', 0):.1f} (the machine is shared:"
        " figures are medians, and p99s include other processes' bursts).",
        "",
        "![indexing and search](pipeline.png)",
        "",
        "## Targets",
        "",
        *targets(results),
        "",
        *NOTES_BEFORE,
    ]
    if "index" in results:
        lines += index_section(results["index"])
    heavy = results.get("index_under_load")
    if heavy:
        lines += [
            f"An earlier run of the same section measured upstream {heavy['faces_per_s']['upstream']:.1f}, ours one "
            f"image at a time {heavy['faces_per_s']['single']:.1f} and `index_folder` "
            f"{heavy['faces_per_s']['pipeline']:.1f} faces/s ({heavy['speedup_pipeline']:.2f}x). Both runs shared "
            f"the 2 cores with other jobs (load average {heavy['load_average']:.0f} at the start of that one); when "
            "the cores are oversubscribed both runtimes' thread pools mostly wait for a core, everything is 3-5x "
            "slower and the ratio shrinks. Read the speedup as a range over the machine's load, not one number.",
            "",
        ]
    if "search" in results:
        from tools.pipeline_search import search_sections

        lines += search_sections(results)
    video = results.get("video")
    if video:
        lines += [
            "## Video",
            "",
            f"Synthetic clip ({video['frames']} frames, 640x480; tools/synthetic_clip.py): faces crossing (with "
            "overlap), one leaving and re-entering. SCRFD-500M on every frame, ByteTrack, MobileFaceNet once per "
            "track.",
            "",
            "| | value |",
            "|---|---|",
            f"| FPS, detect + track | {video['fps_track']:.1f} |",
            f"| FPS, detect + track + identify once per track | {video['fps_identify']:.1f} |",
            f"| tracks / identifications | {video['tracks']} / {video['identifications']} |",
            f"| ID switches (frames where faces overlap excluded) | {video['id_switches']} |",
            f"| ground-truth segments tracked, coverage | {video['segments']}, {video['coverage']:.3f} |",
            f"| every track named as the person it follows | {'yes' if video['identities_correct'] else 'no'} |",
            "",
        ]
    crash = results.get("crash")
    if crash:
        lines += [
            "## SIGKILL trials",
            "",
            f"`python -m tools.store_crash --trials {crash['trials']}`: {crash['trials']} kills "
            f"({crash['kills_mid_run']} while the child was running), {crash['acknowledged']} acknowledged records, "
            f"{crash['records']} records on disk at the end, **{crash['lost']} lost, {crash['misaligned']} "
            f"misaligned** ({crash.get('seconds', 0):.0f} s).",
            "",
        ]
    writes = results.get("writes")
    if writes:
        lines += [
            "## One database writer",
            "",
            f"Committing {writes['faces_per_transaction']} faces ({writes['dim']}-d) per transaction with "
            f"`durability='full'` (one fsync each): {writes['transactions_per_s']:.0f} transactions/s, "
            f"{writes['faces_per_s']:.0f} faces/s.",
            "",
        ]
    lines += NOTES_AFTER
    md_path.write_text("\n".join(lines).rstrip() + "\n")
    plot(results, png_path)
