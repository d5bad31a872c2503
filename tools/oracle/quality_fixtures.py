"""Expected quality metrics for test/unit/monitoring-quality.test.ts, from the reference libraries.

scikit-learn (classification report, MSE, MAE), pycocotools (COCOeval AP@[IoU=0.50] for boxes; mask
IoU and matching for instances) and seqeval (strict mode, IOB2) compute what the TypeScript
aggregates in src/core/monitoring/ must reproduce. Every case is drawn from a seeded generator, so
the output is the same on every run. Not run by the tests (they read the JSON):

    python3 -m venv /tmp/quality-venv
    /tmp/quality-venv/bin/pip install numpy scikit-learn pycocotools seqeval
    /tmp/quality-venv/bin/python tools/oracle/quality_fixtures.py   # writes test/fixtures/monitoring/quality.json
"""

import contextlib
import importlib.metadata
import io
import json
import pathlib
import random

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from seqeval.metrics import classification_report as seqeval_report
from seqeval.scheme import IOB2
from sklearn.metrics import classification_report, f1_score, mean_absolute_error, mean_squared_error

OUT = pathlib.Path(__file__).resolve().parents[2] / "test" / "fixtures" / "monitoring" / "quality.json"


def classification_cases():
    cases = []
    for i in range(10):
        rng = random.Random(100 + i)
        classes = ["cat", "dog", "bird", "fish", "__proto__"][: 2 + i % 4]
        n = 5 + rng.randrange(40)
        y_true = [rng.choice(classes) for _ in range(n)]
        # A good model, mostly right; case 3 also predicts a class that is never true.
        extra = ["ghost"] if i == 3 else []
        y_pred = [t if rng.random() < 0.6 else rng.choice(classes + extra) for t in y_true]
        if i == 4:  # a true class that is never predicted
            y_pred = [p if p != classes[0] else classes[1] for p in y_pred]
        report = classification_report(y_true, y_pred, output_dict=True)
        labels = sorted(set(y_true) | set(y_pred))
        cases.append(
            {
                "name": f"classification-{i}",
                "y_true": y_true,
                "y_pred": y_pred,
                "accuracy": report["accuracy"],
                "macro_f1": f1_score(y_true, y_pred, average="macro"),
                "per_class": {
                    c: {k: report[c][k] for k in ("precision", "recall", "f1-score", "support")} for c in labels
                },
            }
        )
    return cases


def regression_cases():
    cases = []
    for i in range(10):
        rng = random.Random(200 + i)
        n = 1 + rng.randrange(50)
        scale = 10 ** rng.randrange(-2, 4)
        y_true = [round(rng.gauss(0, scale), 3) for _ in range(n)]
        y_pred = [round(t + rng.gauss(0.1 * scale, 0.5 * scale), 3) for t in y_true]
        mse = mean_squared_error(y_true, y_pred)
        errors = np.array(y_pred) - np.array(y_true)
        cases.append(
            {
                "name": f"regression-{i}",
                "y_true": y_true,
                "y_pred": y_pred,
                "mse": float(mse),
                "mae": float(mean_absolute_error(y_true, y_pred)),
                "rmse": float(np.sqrt(mse)),
                "mean_error": float(np.mean(errors)),
            }
        )
    return cases


def quiet(fn):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn()


def random_box(rng, width=200, height=150):
    x1, y1 = rng.randrange(0, width - 20), rng.randrange(0, height - 20)
    return [x1, y1, x1 + rng.randrange(10, 60), y1 + rng.randrange(10, 60)]


def coco_eval(images, classes, iou_type, annotate):
    """Runs COCOeval on images [{gt: [...], dt: [...]}]; annotate(instance) gives the COCO fields."""
    cats = [{"id": k + 1, "name": c} for k, c in enumerate(classes)]
    cat_id = {c: k + 1 for k, c in enumerate(classes)}
    gt = {"images": [{"id": n + 1, "width": 200, "height": 150} for n in range(len(images))], "categories": cats}
    gt["annotations"] = [
        {"id": len(gt.get("annotations", [])) + 1, "image_id": n + 1, "category_id": cat_id[g["label"]], "iscrowd": 0}
        | annotate(g)
        for n, image in enumerate(images)
        for g in image["gt"]
    ]
    for k, ann in enumerate(gt["annotations"]):
        ann["id"] = k + 1
    coco_gt = COCO()
    coco_gt.dataset = gt
    quiet(coco_gt.createIndex)
    dts = [
        {"image_id": n + 1, "category_id": cat_id[d["label"]], "score": d["score"]} | annotate(d)
        for n, image in enumerate(images)
        for d in image["dt"]
    ]
    coco_dt = quiet(lambda: coco_gt.loadRes(dts))
    ev = COCOeval(coco_gt, coco_dt, iou_type)
    quiet(ev.evaluate)
    quiet(ev.accumulate)
    quiet(ev.summarize)
    return ev, cat_id


def detection_cases():
    cases = []
    for i in range(10):
        rng = random.Random(300 + i)
        classes = ["person", "car", "bus", "constructor"][: 1 + i % 4]
        # Distinct scores, multiples of 1/1000: where binned AP must equal pycocotools exactly.
        scores = iter(rng.sample(range(1, 1001), 1000))
        images = []
        for _ in range(1 + rng.randrange(5)):
            gts = [{"label": rng.choice(classes), "xyxy": random_box(rng)} for _ in range(rng.randrange(6))]
            dts = []
            for g in gts:
                if rng.random() < 0.8:  # a prediction near the truth, right or wrong about it
                    j = [rng.randrange(-12, 13) for _ in range(4)]
                    box = [g["xyxy"][0] + j[0], g["xyxy"][1] + j[1], g["xyxy"][2] + j[2], g["xyxy"][3] + j[3]]
                    box = [box[0], box[1], max(box[2], box[0] + 1), max(box[3], box[1] + 1)]
                    dts.append({"label": g["label"], "xyxy": box})
                if rng.random() < 0.2:  # a duplicate: at most one prediction matches each truth
                    dts.append({"label": g["label"], "xyxy": list(g["xyxy"])})
            dts += [{"label": rng.choice(classes), "xyxy": random_box(rng)} for _ in range(rng.randrange(4))]
            rng.shuffle(dts)
            for d in dts:
                d["score"] = next(scores) / 1000
            images.append({"gt": gts, "dt": dts})
        if i == 8:  # over COCO's 100 predictions per image and class
            truth = images[0]["gt"] or [{"label": classes[0], "xyxy": [10, 10, 50, 50]}]
            images[0]["gt"] = truth
            images[0]["dt"] += [
                {"label": truth[0]["label"], "xyxy": random_box(rng), "score": next(scores) / 1000} for _ in range(120)
            ]
        if not any(image["dt"] for image in images):
            images[0]["dt"].append({"label": classes[0], "xyxy": random_box(rng), "score": next(scores) / 1000})
        if not any(image["gt"] for image in images):
            images[0]["gt"].append({"label": classes[0], "xyxy": random_box(rng)})
        cases.append(detection_case(f"detection-{i}", images, classes))
    # A tie: pycocotools orders tied scores by image id, so a false positive in the first image comes
    # first, which is the order the binned AP assumes for every tie.
    tie = [
        {"gt": [{"label": "car", "xyxy": [0, 0, 10, 10]}], "dt": [{"label": "car", "xyxy": [50, 50, 60, 60], "score": 0.9}]},
        {"gt": [{"label": "car", "xyxy": [0, 0, 10, 10]}], "dt": [{"label": "car", "xyxy": [0, 0, 10, 10], "score": 0.9}]},
        {"gt": [], "dt": [{"label": "car", "xyxy": [0, 0, 10, 10], "score": 0.5}]},
    ]
    cases.append(detection_case("detection-tie-fp-first", tie, ["car"]))
    return cases


def xywh(xyxy):
    return [xyxy[0], xyxy[1], xyxy[2] - xyxy[0], xyxy[3] - xyxy[1]]


def detection_case(name, images, classes):
    ev, cat_id = coco_eval(
        images, classes, "bbox", lambda b: {"bbox": xywh(b["xyxy"]), "area": xywh(b["xyxy"])[2] * xywh(b["xyxy"])[3]}
    )
    # precision[T, R, K, A, M]: IoU 0.5, every recall threshold, area "all", maxDets 100.
    per_class = {}
    for c in classes:
        q = ev.eval["precision"][0, :, cat_id[c] - 1, 0, 2]
        per_class[c] = None if (q <= -1).all() else float(np.mean(q))
    return {"name": name, "images": images, "map50": float(ev.stats[1]), "per_class_ap": per_class}


def rle_counts(mask):
    """Uncompressed COCO RLE counts of a row-major h×w 0/1 mask (runs down the columns)."""
    flat = np.asarray(mask, dtype=np.uint8).flatten(order="F")
    counts, current, run = [], 0, 0
    for v in flat:
        if v != current:
            counts.append(run)
            current, run = v, 0
        run += 1
    counts.append(run)
    return counts


def random_mask(rng, h, w):
    mask = np.zeros((h, w), dtype=np.uint8)
    for _ in range(1 + rng.randrange(3)):
        y, x = rng.randrange(h), rng.randrange(w)
        mask[y : y + rng.randrange(2, 8), x : x + rng.randrange(2, 8)] = 1
    return mask


def segmentation_cases():
    cases = []
    h, w = 24, 20
    for i in range(10):
        rng = random.Random(400 + i)
        classes = ["cell", "nucleus"][: 1 + i % 2]
        scores = iter(rng.sample(range(1, 1001), 1000))
        images = []
        for _ in range(1 + rng.randrange(3)):
            gts, dts = [], []
            for _ in range(1 + rng.randrange(4)):
                label = rng.choice(classes)
                mask = random_mask(rng, h, w)
                gts.append({"label": label, "mask": mask})
                if rng.random() < 0.8:
                    noisy = mask.copy()
                    for _ in range(rng.randrange(12)):
                        noisy[rng.randrange(h), rng.randrange(w)] ^= 1
                    dts.append({"label": label, "mask": noisy})
            dts += [{"label": rng.choice(classes), "mask": random_mask(rng, h, w)} for _ in range(rng.randrange(2))]
            for d in dts:
                d["score"] = next(scores) / 1000
            images.append({"gt": [g for g in gts if g["mask"].any()], "dt": [d for d in dts if d["mask"].any()]})
        if not any(image["dt"] for image in images):
            images[0]["dt"].append({"label": classes[0], "mask": random_mask(rng, h, w), "score": 0.5})

        def annotate(inst):
            rle = mask_utils.encode(np.asfortranarray(inst["mask"]))
            return {"segmentation": rle, "area": float(mask_utils.area(rle))}

        ev, _ = coco_eval(images, classes, "segm", annotate)
        ious = []
        for e in ev.evalImgs:
            if e is None or e["aRng"] != [0, 1e10] or e["maxDet"] != 100:
                continue
            matrix = ev.ious[(e["image_id"], e["category_id"])]
            for d, match in enumerate(e["dtMatches"][0]):
                if match:
                    ious.append(float(matrix[d][e["gtIds"].index(int(match))]))
        for image in images:
            for inst in image["gt"] + image["dt"]:
                inst["rle"] = {"size": [h, w], "counts": rle_counts(inst.pop("mask"))}
        cases.append({"name": f"segmentation-{i}", "images": images, "ious": ious, "mean_iou": float(np.mean(ious))})
    return cases


def spans_to_tags(spans, n):
    tags = ["O"] * n
    for start, end, label in spans:
        tags[start] = f"B-{label}"
        for k in range(start + 1, end):
            tags[k] = f"I-{label}"
    return tags


def random_spans(rng, n, types):
    spans, at = [], 0
    while at < n:
        at += rng.randrange(0, 4)
        length = 1 + rng.randrange(3)
        if at + length > n:
            break
        spans.append((at, at + length, rng.choice(types)))
        at += length
    return spans


def entity_cases():
    cases = []
    for i in range(10):
        rng = random.Random(500 + i)
        types = ["PER", "ORG", "LOC", "MISC"][: 1 + i % 4]
        texts = []
        for _ in range(1 + rng.randrange(6)):
            n = 5 + rng.randrange(20)
            truth = random_spans(rng, n, types)
            pred = []
            for s, e, t in truth:
                r = rng.random()
                if r < 0.6:
                    pred.append((s, e, t))
                elif r < 0.7:
                    pred.append((s, e, rng.choice(types)))  # the type may be wrong
                elif r < 0.8 and e - s > 1:
                    pred.append((s + 1, e, t))  # a boundary wrong
            if rng.random() < 0.3:  # sometimes a spurious entity, in a gap if there is one
                free = [k for k in range(n) if all(not (s <= k < e) for s, e, _ in pred)]
                if free:
                    k = rng.choice(free)
                    pred.append((k, k + 1, rng.choice(types)))
            texts.append({"length": n, "truth": truth, "pred": sorted(pred)})
        y_true = [spans_to_tags(t["truth"], t["length"]) for t in texts]
        y_pred = [spans_to_tags(t["pred"], t["length"]) for t in texts]
        report = seqeval_report(y_true, y_pred, mode="strict", scheme=IOB2, output_dict=True)
        keys = ("precision", "recall", "f1-score", "support")
        cases.append(
            {
                "name": f"entities-{i}",
                "texts": [
                    {
                        "truth": [list(s) for s in t["truth"]],
                        "pred": [list(s) for s in t["pred"]],
                    }
                    for t in texts
                ],
                "per_type": {
                    k: {m: float(v[m]) for m in keys} for k, v in report.items() if not k.endswith(" avg")
                },
                "micro": {m: float(report["micro avg"][m]) for m in keys},
                "macro": {m: float(report["macro avg"][m]) for m in keys},
            }
        )
    return cases


def main():
    versions = {name: importlib.metadata.version(name) for name in ("scikit-learn", "pycocotools", "seqeval", "numpy")}
    fixtures = {
        "generated_by": "tools/oracle/quality_fixtures.py",
        "versions": versions,
        "classification": classification_cases(),
        "regression": regression_cases(),
        "detection": detection_cases(),
        "segmentation": segmentation_cases(),
        "entities": entity_cases(),
    }
    OUT.write_text(json.dumps(fixtures, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
