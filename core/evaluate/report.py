"""The report people look at (``index.html``) and the one machines read (``results.json``).

index.html: the run (command, time, machine), what was skipped and why, a table per protocol (mean over
cases, with how many cases each mean covers), distribution plots, a per-clip table, and per case a contact
sheet and per-frame curves. The published numbers of the anchors stand beside ours, marked as what they
are: other data, other metrics.
"""

from __future__ import annotations

import html
import json
import math
import os

from ..io.atomic import atomic_path
from . import contact_sheets, plots
from .results import HIGHER_IS_BETTER, CaseResult, json_safe

LABELS = {
    "ssim_face": "SSIM face", "ms_ssim_face": "MS-SSIM face", "psnr_face": "PSNR face", "ssim_full": "SSIM full",
    "psnr_full": "PSNR full", "nme": "landmark err (NME)", "csim_dlib": "CSIM-dlib", "identity_distance": "dlib dist",
    "driver_identity_distance": "driver's dlib dist", "found_rate": "face found", "mouth_r": "mouth r",
    "eyes_r": "eyes r", "brows_r": "brows r", "yaw_r": "yaw r", "pitch_r": "pitch r", "roll_r": "roll r",
    "jitter_ratio": "jitter / driver", "flicker": "flicker", "flicker_reference": "flicker of real/driver",
    "fps": "fps", "lpips_face": "LPIPS face",
    "fid": "FID (pooled)",
}
PER_CLIP = {"self": ("ssim_face", "nme", "csim_dlib", "mouth_r"),
            "cross": ("identity_distance", "mouth_r", "eyes_r", "yaw_r")}
ANCHORS = [
    ("Few-shot adversarial talking heads (Zakharov et al. 2019), fine-tuned, VoxCeleb1 self-reenactment",
     "FID 43.0 (K=1), 38.0 (K=8), 29.5 (K=32)"),
    ("Bi-layer neural avatars (Zakharov et al. 2020), one-shot, VoxCeleb2 self-reenactment", "SSIM 0.508, CSIM 0.653"),
    ("First Order Motion Model, as measured in the Bi-layer paper, same setting", "SSIM 0.553, CSIM 0.638"),
]
METRIC_NOTES = [
    ("SSIM / MS-SSIM / PSNR face", "on a 256 px face crop placed by the real frame's landmarks, the same crop for "
     "output and real frame (self-reenactment, held-back frames only)."),
    ("SSIM / PSNR full", "on the whole frame (SSIM averaged down to about 256 px as in Wang's reference code)."),
    ("landmark err (NME)", "dlib's 68 points on the output vs on the real frame, mean distance / outer-eye-corner "
     "distance."),
    ("CSIM-dlib, dlib dist", "cosine similarity and Euclidean distance of dlib's 128-d face descriptors (output vs "
     "real frame, or vs the still in cross-reenactment; dlib's same-person threshold is 0.6). NOT the ArcFace CSIM "
     "of the papers, and not comparable with it."),
    ("face found", "share of scored frames in which dlib finds a face in the output."),
    ("mouth/eyes/brows/yaw/pitch/roll r", "Pearson correlation of the output's curve with the driver's over the "
     "window, averaged only over cases whose driver moves that feature (count in brackets); yaw/pitch/roll from a "
     "generic 3-D face fitted to six landmarks."),
    ("jitter / driver", "RMS second temporal difference of the output's landmarks over the driver's (1 = as steady "
     "as the real video)."),
    ("flicker", "mean |f(t-1) - 2 f(t) + f(t+1)| inside the output's matte, in 8-bit levels; beside it the same "
     "measure of the real frames in the same region (self) or of the driver's face (cross)."),
    ("fps", "frames per second of rendering alone (no measuring), on this machine, in this run."),
]


def _fmt(metric: str, value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if metric in ("psnr_face", "psnr_full", "fps", "fid", "flicker", "flicker_reference"):
        return f"{value:.1f}"
    if metric == "found_rate":
        return f"{100 * value:.0f}%"
    return f"{value:.3f}"


def _header(metric: str) -> str:
    better = HIGHER_IS_BETTER.get(metric)
    arrow = "" if better is None else (" ↑" if better else " ↓")
    return html.escape(LABELS.get(metric, metric) + arrow)


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)


def write_report(out: str, document: dict, results: list[CaseResult]) -> str:
    """Write results.json, plots/, sheets/ and index.html under ``out``; return index.html's path."""
    os.makedirs(os.path.join(out, "plots"), exist_ok=True)
    os.makedirs(os.path.join(out, "sheets"), exist_ok=True)
    with atomic_path(os.path.join(out, "results.json")) as partial, open(partial, "w", encoding="utf-8") as handle:
        json.dump(json_safe(document), handle, indent=1)
    parts = [_head(document)]
    for group, table in document["summary"].items():
        protocol = "cross" if group == "cross" else "self"
        group_results = [r for r in results if r.group == group]
        plot = f"plots/{group}_distributions.png"
        plots.distributions(group_results, document["contenders"], protocol, _group_title(group),
                            os.path.join(out, plot))
        parts.append(f"<h2 id='{group}'>{html.escape(_group_title(group))}</h2>")
        parts.append(_summary_table(table))
        parts.append(f"<p><img src='{plot}' alt='distributions of {group}'></p>")
        parts.append(_per_clip_table(group_results, document["contenders"], protocol))
        parts.append(_details(out, group, group_results, protocol))
    parts.append("</body></html>")
    path = os.path.join(out, "index.html")
    with atomic_path(path) as partial, open(partial, "w", encoding="utf-8") as handle:
        handle.write("\n".join(parts))
    return path


def _group_title(group: str) -> str:
    if group == "cross":
        return "Cross-reenactment (still of person A, driver of person B)"
    return f"Self-reenactment, K = {group.split('k')[-1]} source frames (held-back frames only)"


def _head(document: dict) -> str:
    e = html.escape
    rows = [f"<tr><th>command</th><td><code>{e(document.get('command') or '')}</code></td></tr>",
            f"<tr><th>time</th><td>{document['seconds']:.0f} s ({document['cases_measured']} of "
            f"{document['cases_total']} renderer×case results measured in this run, the rest reused)</td></tr>",
            f"<tr><th>machine</th><td>{e(str(document['machine']))}</td></tr>",
            f"<tr><th>engine</th><td>portrait-animator {e(document['engine'])}</td></tr>",
            f"<tr><th>settings</th><td><code>{e(json.dumps(json_safe(document['settings'])))}</code></td></tr>",
            *[f"<tr><th>{e(k.upper())} weights</th><td>{e(', '.join(v))}</td></tr>"
              for k, v in document.get("perceptual_weights", {}).items()],
            f"<tr><th>identity groups</th><td>{e(str(document['identity_groups']['source']))}: "
            f"{len(document['identity_groups']['groups'])} groups</td></tr>"]
    skipped = [f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in document["skipped_renderers"].items()]
    skipped += [f"<li><b>{e(k.upper())}</b>: {e(v)}</li>" for k, v in document["skipped_metrics"].items()]
    skipped += [f"<li>clip <b>{e(k)}</b>: {e(v)}</li>" for k, v in document["clip_errors"].items()]
    skipped += [f"<li>{e(note)}</li>" for note in document.get("notes", [])]
    errors = [c for c in document["cases"] if c["error"]]
    skipped += [f"<li>{e(c['case'])} / {e(c['contender'])}: {e(c['error'])}</li>" for c in errors]
    anchors = "".join(f"<tr><td>{e(a)}</td><td>{e(b)}</td></tr>" for a, b in ANCHORS)
    notes = "".join(f"<dt>{e(a)}</dt><dd>{e(b)}</dd>" for a, b in METRIC_NOTES)
    links = " · ".join(f"<a href='#{g}'>{e(_group_title(g))}</a>" for g in document["summary"])
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Portrait Animator evaluation</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 1400px; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 13px; }}
th, td {{ border: 1px solid #ccc; padding: 3px 7px; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
details {{ margin: 0.6em 0; }} dt {{ font-weight: bold; }} img {{ max-width: 100%; }}
.warn {{ background: #fff4e0; padding: 0.6em 1em; border-left: 4px solid #e0a000; }}
</style></head><body>
<h1>Portrait Animator evaluation</h1>
<table>{''.join(rows)}</table>
<p>{links}</p>
<h3>Skipped</h3><ul>{''.join(skipped) or '<li>nothing</li>'}</ul>
<h3>Published anchors — different data, different metrics: context, not a comparison</h3>
<div class="warn">These numbers come from the papers, on VoxCeleb test sets with ArcFace CSIM and the authors' FID
set-up. Ours are on other clips (the folder above), with dlib's descriptor (CSIM-dlib) and our face crops.
Do not read a difference between the two tables as one method beating another.</div>
<table><tr><th>paper</th><th>published</th></tr>{anchors}</table>
<h3>Metrics</h3><dl>{notes}</dl>"""


def _summary_table(table: dict) -> str:
    contenders = list(table)
    if not contenders:
        return "<p>no results</p>"
    metrics = list(next(iter(table.values())))
    head = "<tr><th>renderer</th>" + "".join(f"<th>{_header(m)}</th>" for m in metrics) + "</tr>"
    body = []
    for name in contenders:
        cells = []
        for metric in metrics:
            entry = table[name][metric]
            count = f" <small>({entry['cases']})</small>" if metric.endswith("_r") else ""
            cells.append(f"<td>{_fmt(metric, entry['mean'])}{count}</td>")
        body.append(f"<tr><td>{html.escape(name)}</td>{''.join(cells)}</tr>")
    return f"<table>{head}{''.join(body)}</table><p><small>Means over cases (each clip weighs the same).</small></p>"


def _per_clip_table(results: list[CaseResult], contenders: list[str], protocol: str) -> str:
    metrics = PER_CLIP[protocol]
    names = [c for c in contenders if any(r.contender == c for r in results)]
    head = ("<tr><th rowspan=2>case</th>" + "".join(f"<th colspan={len(names)}>{_header(m)}</th>" for m in metrics)
            + "</tr><tr>" + "".join(f"<th>{html.escape(n)}</th>" for _ in metrics for n in names) + "</tr>")
    by_case: dict[str, dict[str, CaseResult]] = {}
    for result in results:
        by_case.setdefault(result.case_id, {})[result.contender] = result
    body = []
    for case_id in sorted(by_case):
        cells = []
        for metric in metrics:
            for name in names:
                result = by_case[case_id].get(name)
                value = None if result is None or result.error else result.summary.get(metric)
                if metric.endswith("_r") and result is not None and not result.summary.get(
                        metric.replace("_r", "_moving")):
                    value = None
                cells.append(f"<td>{_fmt(metric, value)}</td>")
        label = case_id.split("/", 1)[1]
        body.append(f"<tr><td><a href='#{_slug(case_id)}'>{html.escape(label)}</a></td>{''.join(cells)}</tr>")
    return (f"<details><summary>per clip ({len(by_case)} cases; — = not measured, or the driver does not move that "
            f"feature)</summary><table>{head}{''.join(body)}</table></details>")


def _details(out: str, group: str, results: list[CaseResult], protocol: str) -> str:
    by_case: dict[str, list[CaseResult]] = {}
    for result in results:
        if not result.error:
            by_case.setdefault(result.case_id, []).append(result)
    parts = []
    for case_id in sorted(by_case):
        case_results = by_case[case_id]
        slug = _slug(case_id)
        thumbs = {r.contender: os.path.join(out, "cases", case_id, r.thumbs or f"{r.contender}.thumbs.npz")
                  for r in case_results}
        sheet = contact_sheets.build_sheet(thumbs, protocol == "self")
        sheet_html = ""
        if sheet is not None:
            contact_sheets.write_sheet(sheet, os.path.join(out, "sheets", f"{slug}.png"), case_id)
            sheet_html = f"<img src='sheets/{slug}.png' alt='contact sheet {html.escape(case_id)}'>"
        plots.curves(case_results, protocol, case_id, os.path.join(out, "plots", f"{slug}_curves.png"))
        parts.append(f"<details id='{slug}'><summary>{html.escape(case_id)}</summary>{sheet_html}"
                     f"<img src='plots/{slug}_curves.png' alt='curves {html.escape(case_id)}'></details>")
    return f"<h3>Cases</h3>{''.join(parts)}"

