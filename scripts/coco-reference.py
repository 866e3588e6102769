#!/usr/bin/env python3
"""Independent reference for `yolo-serve eval`: COCO bbox metrics and Ultralytics-style metrics
for a yolo-serve results file, written in Python + numpy from the published definitions.

Why this exists: the figures of `yolo-serve eval` must equal pycocotools' COCOeval (bbox). Neither
pycocotools nor PyPI is reachable from this project's machines, and Debian (bookworm) does not
package it (`apt-cache policy python3-pycocotools` finds nothing). So this script re-derives the
same figures a second way: numpy arrays and numpy's own sorts (mergesort), searchsorted, linspace,
interp and trapezoid — the primitives pycocotools and Ultralytics call — instead of the
hand-written loops of src/evaluate/. The two implementations share no code. Where pycocotools is
available, `--pycocotools` also runs the real COCOeval on the same converted data and prints both.

    python3 scripts/coco-reference.py RESULTS.jsonl --labels DIR [--out ref.json] [--pycocotools]
    python3 scripts/coco-reference.py RESULTS.jsonl --coco instances.json [--out ref.json]

Fixture: test/fixtures/coco128-yolov8n_int8_640-conf0.001.reference.json was made with
    ./bin/yolo-serve batch ../shared/images/coco128 --model ../shared/models/yolov8n_int8_640.onnx \
        --conf 0.001 --out /tmp/v8.jsonl
    (paths made relative: sed 's#"path":"[^"]*/coco128/#"path":"coco128/#')
    python3 scripts/coco-reference.py test/fixtures/coco128-yolov8n_int8_640-conf0.001.jsonl.gz \
        --labels ../shared/images/coco128/labels --out test/fixtures/coco128-yolov8n_int8_640-conf0.001.reference.json
and test/fixtures/coco-tiny/reference.json (crowds, ties, a COCO file) with
    python3 scripts/coco-reference.py test/fixtures/coco-tiny/r.jsonl --coco test/fixtures/coco-tiny/inst.json \
        --out test/fixtures/coco-tiny/reference.json
Requires numpy (any version with np.trapezoid or np.trapz).
"""
import argparse
import gzip
import json
import os
import sys

import numpy as np

IOU_THRS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
REC_THRS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
MAX_DETS = [1, 10, 100]
AREA_RNG = [[0, 1e5 ** 2], [0, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]]
TRAPZ = getattr(np, "trapezoid", None) or getattr(np, "trapz")


# ---------------------------------------------------------------- reading

def read_results(path):
    """Final record per image path (the last one wins), sorted by path."""
    opener = gzip.open if path.endswith(".gz") else open
    last = {}
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            if "path" not in r or "detections" not in r:
                continue  # a provenance header or other non-record line
            last[r["path"]] = r
    return [last[p] for p in sorted(last)]


def yolo_gt(records, labels_dir):
    """COCO-style dataset from YOLO labels; image ids 1..N in path order."""
    images, anns = [], []
    for i, r in enumerate(records):
        W, H = r["width"], r["height"]
        images.append({"id": i + 1, "file_name": r["path"], "width": W, "height": H})
        stem = os.path.splitext(os.path.basename(r["path"]))[0]
        f = os.path.join(labels_dir, stem + ".txt")
        if not os.path.exists(f):
            continue
        for line in open(f):
            v = [float(x) for x in line.split()]
            if not v:
                continue
            if len(v) > 6:
                xs, ys = v[1::2], v[2::2]
                x1, y1 = min(xs) * W, min(ys) * H
                bbox = [x1, y1, max(xs) * W - x1, max(ys) * H - y1]
            else:
                cx, cy, w, h = v[1:5]
                bbox = [(cx - w / 2) * W, (cy - h / 2) * H, w * W, h * H]
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": int(v[0]), "bbox": bbox,
                         "area": bbox[2] * bbox[3], "iscrowd": 0})
    cats = sorted({a["category_id"] for a in anns} | {d["class"] for r in records for d in r["detections"]})
    return {"images": images, "annotations": anns, "categories": [{"id": c, "name": str(c)} for c in cats]}, \
        {r["path"]: i + 1 for i, r in enumerate(records)}, (lambda d: d["class"])


def coco_gt(records, coco_file):
    gt = json.load(open(coco_file))
    by_base = {os.path.basename(im["file_name"]): im["id"] for im in gt["images"]}
    ids = {r["path"]: by_base[os.path.basename(r["path"])] for r in records if os.path.basename(r["path"]) in by_base}
    by_name = {c["name"]: c["id"] for c in gt["categories"]}
    for a in gt["annotations"]:
        a.setdefault("area", a["bbox"][2] * a["bbox"][3])
    return gt, ids, (lambda d: by_name.get(d["name"]))


def detections(records, image_ids, cat_of):
    dts = []
    for r in records:
        if r["path"] not in image_ids:
            continue
        for d in r["detections"]:
            c = cat_of(d)
            if c is None:
                continue
            b = d["box"]
            bbox = [b["x1"], b["y1"], b["x2"] - b["x1"], b["y2"] - b["y1"]]
            dts.append({"id": len(dts) + 1, "image_id": image_ids[r["path"]], "category_id": c, "bbox": bbox,
                        "score": d["confidence"], "area": bbox[2] * bbox[3], "iscrowd": 0})
    return dts


# ---------------------------------------------------------------- COCO bbox metrics

def iou_matrix(dt_boxes, gt_boxes, crowd):
    """[D, G] IoU of xywh boxes; a crowd ground truth's union is the detection's area."""
    if len(dt_boxes) == 0 or len(gt_boxes) == 0:
        return np.zeros((len(dt_boxes), len(gt_boxes)))
    d = np.asarray(dt_boxes, dtype=np.float64)[:, None, :]
    g = np.asarray(gt_boxes, dtype=np.float64)[None, :, :]
    w = np.minimum(d[..., 0] + d[..., 2], g[..., 0] + g[..., 2]) - np.maximum(d[..., 0], g[..., 0])
    h = np.minimum(d[..., 1] + d[..., 3], g[..., 1] + g[..., 3]) - np.maximum(d[..., 1], g[..., 1])
    inter = np.where((w > 0) & (h > 0), w * h, 0.0)
    da = d[..., 2] * d[..., 3]
    ga = g[..., 2] * g[..., 3]
    union = np.where(np.asarray(crowd, dtype=bool)[None, :], da, da + ga - inter)
    return np.where((w > 0) & (h > 0), inter / union, 0.0)


def match_image(gts, dts, lo, hi):
    """One image and category at one area range: (scores, matched[T,D], ignored[T,D], n non-ignored gt)."""
    dts = [dts[i] for i in np.argsort([-d["score"] for d in dts], kind="mergesort")][:MAX_DETS[-1]]
    ign = np.array([1 if (g["iscrowd"] or g["area"] < lo or g["area"] > hi) else 0 for g in gts], dtype=int)
    order = np.argsort(ign, kind="mergesort")
    gts = [gts[i] for i in order]
    ign = ign[order]
    crowd = np.array([bool(g["iscrowd"]) for g in gts])
    ious = iou_matrix([d["bbox"] for d in dts], [g["bbox"] for g in gts], crowd)
    T, D, G = len(IOU_THRS), len(dts), len(gts)
    matched = np.zeros((T, D), dtype=bool)
    d_ign = np.zeros((T, D), dtype=bool)
    for t, thr in enumerate(IOU_THRS):
        taken = np.zeros(G, dtype=bool)
        for di in range(D):
            best, m = min(thr, 1 - 1e-10), -1
            for gi in range(G):
                if taken[gi] and not crowd[gi]:
                    continue
                if m > -1 and ign[m] == 0 and ign[gi] == 1:
                    break
                if ious[di, gi] < best:
                    continue
                best, m = ious[di, gi], gi
            if m >= 0:
                matched[t, di], d_ign[t, di], taken[m] = True, bool(ign[m]), True
    out_of_range = np.array([(d["area"] < lo or d["area"] > hi) for d in dts], dtype=bool)
    d_ign |= (~matched) & out_of_range[None, :]
    return np.array([d["score"] for d in dts]), matched, d_ign, int((ign == 0).sum())


def coco_eval(gt, dts):
    img_ids = sorted(EVAL_IDS)  # as Ultralytics sets params.imgIds: the images that were run
    cat_ids = sorted(c["id"] for c in gt["categories"])
    by = {}
    for a in gt["annotations"]:
        by.setdefault((a["image_id"], a["category_id"]), ([], []))[0].append(a)
    for d in dts:
        by.setdefault((d["image_id"], d["category_id"]), ([], []))[1].append(d)
    T, R, K, A, M = len(IOU_THRS), len(REC_THRS), len(cat_ids), len(AREA_RNG), len(MAX_DETS)
    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    for k, c in enumerate(cat_ids):
        for a, (lo, hi) in enumerate(AREA_RNG):
            evals = [match_image(*by[(i, c)], lo, hi) for i in img_ids if (i, c) in by]
            if not evals:
                continue
            npig = sum(e[3] for e in evals)
            if npig == 0:
                continue
            for m, md in enumerate(MAX_DETS):
                scores = np.concatenate([e[0][:md] for e in evals])
                order = np.argsort(-scores, kind="mergesort")
                mt = np.concatenate([e[1][:, :md] for e in evals], axis=1)[:, order]
                ig = np.concatenate([e[2][:, :md] for e in evals], axis=1)[:, order]
                tps = np.cumsum(mt & ~ig, axis=1).astype(float)
                fps = np.cumsum(~mt & ~ig, axis=1).astype(float)
                for t in range(T):
                    tp, fp = tps[t], fps[t]
                    rc = tp / npig
                    pr = tp / (fp + tp + np.spacing(1))
                    recall[t, k, a, m] = rc[-1] if len(tp) else 0
                    pr = np.maximum.accumulate(pr[::-1])[::-1] if len(pr) else pr
                    idx = np.searchsorted(rc, REC_THRS, side="left")
                    q = np.zeros(R)
                    ok = idx < len(pr)
                    q[ok] = pr[idx[ok]]
                    precision[t, :, k, a, m] = q
    def mean(x):
        x = x[x > -1]
        return float(np.mean(x)) if x.size else -1.0
    t50, t75 = np.where(IOU_THRS == 0.5)[0], np.where(IOU_THRS == 0.75)[0]
    stats = {
        "mAP": mean(precision[:, :, :, 0, 2]), "mAP50": mean(precision[t50][:, :, :, 0, 2]),
        "mAP75": mean(precision[t75][:, :, :, 0, 2]), "mAP_small": mean(precision[:, :, :, 1, 2]),
        "mAP_medium": mean(precision[:, :, :, 2, 2]), "mAP_large": mean(precision[:, :, :, 3, 2]),
        "AR1": mean(recall[:, :, 0, 0]), "AR10": mean(recall[:, :, 0, 1]), "AR100": mean(recall[:, :, 0, 2]),
        "AR_small": mean(recall[:, :, 1, 2]), "AR_medium": mean(recall[:, :, 2, 2]), "AR_large": mean(recall[:, :, 3, 2]),
    }
    per_class = {str(c): {"ap": mean(precision[:, :, k, 0, 2]), "ap50": mean(precision[0, :, k, 0, 2]),
                          "ar100": mean(recall[:, k, 0, 2])} for k, c in enumerate(cat_ids)}
    return stats, per_class


EVAL_IDS = set()


# ---------------------------------------------------------------- Ultralytics-style metrics

def ul_match(pred_cls, true_cls, iou):
    """DetectionValidator.match_predictions, numpy version; iou is [n_gt, n_pred]."""
    iouv = np.linspace(0.5, 0.95, 10)
    correct = np.zeros((len(pred_cls), len(iouv)), dtype=bool)
    iou = iou * (true_cls[:, None] == pred_cls[None, :])
    for i, thr in enumerate(iouv):
        matches = np.array(np.nonzero(iou >= thr)).T
        if matches.shape[0]:
            if matches.shape[0] > 1:
                matches = matches[iou[matches[:, 0], matches[:, 1]].argsort(kind="stable")[::-1]]
                matches = matches[np.unique(matches[:, 1], return_index=True)[1]]
                matches = matches[np.unique(matches[:, 0], return_index=True)[1]]
            correct[matches[:, 1].astype(int), i] = True
    return correct


def xyxy_iou(a, b):
    a, b = np.asarray(a, dtype=np.float64).reshape(-1, 4), np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(2)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])
    return inter / (area(a)[:, None] + area(b)[None, :] - inter + 1e-7)


def compute_ap(recall, precision):
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([1.0], precision, [0.0]))
    mpre = np.flip(np.maximum.accumulate(np.flip(mpre)))
    x = np.linspace(0, 1, 101)
    return TRAPZ(np.interp(x, mrec, mpre), x)


def smooth(y, f=0.05):
    nf = round(len(y) * f * 2) // 2 + 1
    p = np.ones(nf // 2)
    yp = np.concatenate((p * y[0], y, p * y[-1]), 0)
    return np.convolve(yp, np.ones(nf) / nf, mode="valid")


def ultralytics(gt, dts):
    anns = {}
    for a in gt["annotations"]:
        if not a["iscrowd"]:
            anns.setdefault(a["image_id"], []).append(a)
    dets = {}
    for d in dts:
        dets.setdefault(d["image_id"], []).append(d)
    tps, confs, pcls, tcls = [], [], [], []
    for im in sorted(EVAL_IDS):
        g, p = anns.get(im, []), dets.get(im, [])
        tcls += [a["category_id"] for a in g]
        if not p:
            continue
        gb = [[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]] for a in g]
        pb = [[d["bbox"][0], d["bbox"][1], d["bbox"][0] + d["bbox"][2], d["bbox"][1] + d["bbox"][3]] for d in p]
        pc = np.array([d["category_id"] for d in p])
        if g:
            tps.append(ul_match(pc, np.array([a["category_id"] for a in g]), xyxy_iou(gb, pb)))
        else:
            tps.append(np.zeros((len(p), 10), dtype=bool))
        confs += [d["score"] for d in p]
        pcls += list(pc)
    tp, conf, pred_cls, target_cls = np.concatenate(tps), np.array(confs), np.array(pcls), np.array(tcls)
    i = np.argsort(-conf, kind="stable")
    tp, conf, pred_cls = tp[i], conf[i], pred_cls[i]
    classes, nt = np.unique(target_cls, return_counts=True)
    x = np.linspace(0, 1, 1000)
    ap = np.zeros((len(classes), 10))
    p_curve, r_curve = np.zeros((len(classes), 1000)), np.zeros((len(classes), 1000))
    for ci, c in enumerate(classes):
        sel = pred_cls == c
        if sel.sum() == 0:
            continue
        fpc = (1 - tp[sel]).cumsum(0)
        tpc = tp[sel].cumsum(0)
        rec = tpc / (nt[ci] + 1e-16)
        pre = tpc / (tpc + fpc)
        r_curve[ci] = np.interp(-x, -conf[sel], rec[:, 0], left=0)
        p_curve[ci] = np.interp(-x, -conf[sel], pre[:, 0], left=1)
        for j in range(10):
            ap[ci, j] = compute_ap(rec[:, j], pre[:, j])
    f1 = 2 * p_curve * r_curve / (p_curve + r_curve + 1e-16)
    b = smooth(f1.mean(0), 0.1).argmax()
    return {"mAP50": float(ap[:, 0].mean()), "mAP50_95": float(ap.mean()), "precision": float(p_curve[:, b].mean()),
            "recall": float(r_curve[:, b].mean()), "f1_conf": float(x[b]),
            "per_class": {str(int(c)): {"ap50": float(ap[k, 0]), "ap50_95": float(ap[k].mean())} for k, c in enumerate(classes)}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results")
    ap.add_argument("--labels")
    ap.add_argument("--coco")
    ap.add_argument("--out")
    ap.add_argument("--pycocotools", action="store_true")
    a = ap.parse_args()
    records = [r for r in read_results(a.results) if not r.get("error") and r.get("width")]
    gt, ids, cat_of = yolo_gt(records, a.labels) if a.labels else coco_gt(records, a.coco)
    EVAL_IDS.update(ids.values())
    dts = detections(records, ids, cat_of)
    stats, per_class = coco_eval(gt, dts)
    out = {"source": "scripts/coco-reference.py (numpy %s)" % np.__version__, "images": len(EVAL_IDS),
           "coco": stats, "per_class": per_class, "ultralytics": ultralytics(gt, dts)}
    if a.pycocotools:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
        c = COCO()
        c.dataset = gt
        c.createIndex()
        e = COCOeval(c, c.loadRes(dts), "bbox")
        e.params.imgIds = sorted(EVAL_IDS)
        e.evaluate(); e.accumulate(); e.summarize()
        out["pycocotools"] = list(map(float, e.stats))
    text = json.dumps(out, indent=1, sort_keys=True)
    if a.out:
        open(a.out, "w").write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    sys.exit(main())
