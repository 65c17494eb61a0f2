"""Runs the FashionFail repository's own evaluation code, unpatched, on prediction files; what it
prints and returns goes to a JSON file for tests/test_paper_oracle.py.

    ORACLE_PYTHON paper_oracle_driver.py TREE JOBS.json OUT.json

Runs under the oracle's interpreter (bench/setup_paper_oracle.py), not the app's: it imports
nothing from the project. Each job is {"preds", "anns", "model_name"}; for each it calls
`convert_preds_to_coco`, then per IoU type `get_cocoeval(..., use_coco_eval2=True)` (the
COCO-extended method of its evaluate.py), `print_per_class_metrics`, `print_tp_fp_fn_counts` and
`compute_map_weighted`. The printed numbers are parsed as printed; since `compute_map_weighted`
prints three decimals, its five sums are also evaluated at full precision by the same expressions
on the same COCOeval2 arrays. The paper's `load_categories` reads the Fashionpedia categories from
~/.cache/fashionpedia: the test points HOME at a folder that holds them.

torchvision's C extension is built for CUDA and cannot load on this CPU torch; nothing in the
evaluation uses its operators, so torchvision's own Python modules (its `ops.box_convert`, which
the paper's `extended_box_convert` calls) are imported without it.
"""

import contextlib
import importlib.util
import io
import json
import re
import sys
import types


def _torchvision_without_its_c_extension() -> None:
    spec = importlib.util.find_spec("torchvision")
    package = types.ModuleType("torchvision")
    package.__path__ = list(spec.submodule_search_locations)
    package.__file__ = spec.origin
    sys.modules["torchvision"] = package
    extension = types.ModuleType("torchvision.extension")
    extension._assert_has_ops = lambda: None
    extension._has_ops = lambda: False
    sys.modules["torchvision.extension"] = extension


def _printed(function, *args, **kwargs) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        function(*args, **kwargs)
    return out.getvalue()


COUNT_ROW = re.compile(r"^\| (\d+)\s*\| (\d+)\s*\| (\d+)\s*\| (\d+)\s*\|$")
TOTAL_ROW = re.compile(r"^Total\s*\| (\d+)\s*\| (\d+)\s*\| (\d+)\s*\|$")
WEIGHTED_ROW = re.compile(r"^(w-mAP|w-mAP50|w-mAP75|w-mAR1|w-mAR100)\s*= (-?\d+\.\d+)$")
KEYS = {"w-mAP": "mAP_w", "w-mAP50": "mAP_w50", "w-mAP75": "mAP_w75", "w-mAR1": "mAR_w1", "w-mAR100": "mAR_w100"}


def main() -> int:
    tree, jobs_file, out_file = sys.argv[1:4]
    _torchvision_without_its_c_extension()
    sys.path.insert(0, f"{tree}/src")
    import numpy as np
    from loguru import logger

    from fashionfail.models.evaluate import (
        calculate_class_frequencies, compute_map_weighted, get_cocoeval, print_per_class_metrics,
        print_tp_fp_fn_counts,
    )
    from fashionfail.models.prediction_utils import convert_preds_to_coco

    logger.remove()
    results = []
    for job in json.loads(open(jobs_file).read()):
        with contextlib.redirect_stdout(io.StringIO()):
            coco_file = convert_preds_to_coco(preds_path=job["preds"], anns_path=job["anns"],
                                              model_name=job["model_name"])
        entry = {"coco": json.loads(open(coco_file).read()), "iou": {}}
        for iou_type in ("bbox", "segm"):
            with contextlib.redirect_stdout(io.StringIO()):
                coco_eval = get_cocoeval(job["anns"], coco_file, iou_type, use_coco_eval2=True)
            per_class = print_per_class_metrics(coco_eval, return_results=True)
            counts, total = {}, None
            for line in _printed(print_tp_fp_fn_counts, coco_eval).splitlines():
                if COUNT_ROW.match(line):
                    category, tp, fp, fn = map(int, COUNT_ROW.match(line).groups())
                    counts[category] = [tp, fp, fn]
                elif TOTAL_ROW.match(line):
                    total = list(map(int, TOTAL_ROW.match(line).groups()))
            printed = {}
            for line in _printed(compute_map_weighted, coco_eval, anns_path=job["anns"]).splitlines():
                found = WEIGHTED_ROW.match(line.strip())
                if found:
                    printed[KEYS[found.group(1)]] = found.group(2)
            # compute_map_weighted's sums, the same expressions, at full precision
            precision, recall = coco_eval.eval["precision"], coco_eval.eval["recall"]
            full = dict.fromkeys(KEYS.values(), 0)
            for cat_id, weight in calculate_class_frequencies(job["anns"]).items():
                full["mAP_w"] += weight * np.nanmean(precision[:, :, cat_id, 0, 2])
                full["mAP_w50"] += weight * np.nanmean(precision[0, :, cat_id, 0, 2])
                full["mAP_w75"] += weight * np.nanmean(precision[5, :, cat_id, 0, 2])
                full["mAR_w1"] += weight * np.nanmean(recall[:, cat_id, 0, 0])
                full["mAR_w100"] += weight * np.nanmean(recall[:, cat_id, 0, 2])
            entry["iou"][iou_type] = {
                "ap": [float(v) for v in per_class["AP"]],
                "counts": counts, "total": total, "printed": printed,
                "weighted": {key: float(value) for key, value in full.items()},
                "scores_tp": {int(k): v.tolist() for k, v in coco_eval.eval["scores_tp"].items()},
                "scores_fp": {int(k): v.tolist() for k, v in coco_eval.eval["scores_fp"].items()},
            }
        results.append(entry)
    with open(out_file, "w") as out:
        json.dump(results, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
