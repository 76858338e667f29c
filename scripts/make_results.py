"""Evaluate every installed pretrained weight and write docs/results.md.

    GENZOO_DATA=../shared/data .venv/bin/python scripts/make_results.py [-n 10000]

For each ``model/weights`` the installed plugins list, the generated images are
compared with the test split of the dataset the weights were trained on, using
the shipped classifier of that dataset as feature extractor (``mnist-cnn``,
``fashion-mnist-cnn``; ``inception-v3`` otherwise). The table goes to
``docs/results.md`` (with the full reports in ``docs/results.json``), and each
model card's row, between ``<!-- results:MODEL/WEIGHTS -->`` and
``<!-- /results -->`` in the plugin's README, is replaced by the new one. Run it
whenever weights change (``make results``).

Models that need an input to generate anything (image-to-image translation,
text-to-image) are not scored by sampling: their table lists the metrics their
training scripts measured and recorded in the spec (L1 and SSIM against
targets, cycle L1, attribute accuracy), with the protocol in each model card.
``--recorded-only`` rewrites that table alone, which takes seconds.
``--only MODEL/WEIGHTS`` re-scores one weight (after retraining it) and replaces
its row in ``docs/results.md``, its entry in ``results.json`` and its card's row,
leaving every other number as it was.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
from pathlib import Path

import genzoo_core
from genzoo_core import Capability, Condition
from genzoo_core.evaluation import real_features

ROOT = Path(__file__).resolve().parents[1]
EXTRACTOR_FOR = {"mnist": "mnist-cnn", "fashion-mnist": "fashion-mnist-cnn"}
# Likelihood models train on bits, but their samples are p(x = 1) images: their
# image metrics compare them with the grey images the bits were drawn from.
IMAGES_FOR = {"binarized-mnist": "mnist"}
HEADER = ("| weights | data (test split) | features | FID ↓ | KID ↓ | IS ↑ | precision ↑ "
          "| recall ↑ | label accuracy ↑ | NLL (nats) ↓ |")
RULE = "|---|---|---|---|---|---|---|---|---|---|"
NEEDS_INPUT = (Condition.PAIRED_IMAGE, Condition.UNPAIRED_DOMAINS, Condition.TEXT)
RECORDED_START, RECORDED_END = "<!-- recorded -->", "<!-- /recorded -->"


def fmt(values: dict, key: str, digits: int = 3) -> str:
    if key not in values:
        return "–"
    text = f"{values[key]:.{digits}f}"
    if f"{key}_std" in values:
        text += f" ± {values[f'{key}_std']:.{digits}f}"
    return text


def row(name: str, report: dict) -> str:
    m, s = report["metrics"], report["settings"]
    return (f"| `{name}` | {s['real']['dataset']} ({s['real'].get('count', s['n'])}) "
            f"| {s['features']} | {fmt(m, 'fid', 2)} | {fmt(m, 'kid', 2)} "
            f"| {fmt(m, 'is', 2)} | {fmt(m, 'precision')} | {fmt(m, 'recall')} "
            f"| {fmt(m, 'label_accuracy')} | {fmt(m, 'nll_nats', 1)} |")


def baseline(dataset: str, features: str, n: int, seed: int) -> dict:
    """The floor: n real *train* images scored against the test images, as if generated."""
    extractor = genzoo_core.get_feature_extractor(features)
    test, described = real_features(dataset, extractor, n=n, split="test")
    train, _ = real_features(dataset, extractor, n=n, split="train")
    _, probabilities = extractor.extract(
        genzoo_core.load_data(dataset, "train").images[:n].astype("float32") / 255.0
    )
    m = genzoo_core.metrics
    kid, kid_std = m.kid(test, train, seed=seed)
    is_mean, is_std = m.inception_score(probabilities)
    precision, recall = m.precision_recall(test, train)
    return {
        "metrics": {"fid": m.fid(test, train), "kid": kid, "kid_std": kid_std, "is": is_mean,
                    "is_std": is_std, "precision": precision, "recall": recall},
        "settings": {"real": described, "n": n, "features": features,
                     "fake": f"{dataset}:train[:{n}] (real images)"},
    }


def recorded_nll(spec, weights, report: dict) -> float:
    """The test NLL the training script measured with the model's protocol.

    Likelihoods are measured where the weights are made (the VAE's k = 5000
    bound on a CPU takes far longer than ``make results`` should); each model
    card states the protocol, and ``results.json`` repeats it.
    """
    header = genzoo_core.read_header(genzoo_core.hub.resolve(spec, weights, progress=False))
    recorded = header.metadata["metrics"]["test_nll"]
    report["settings"]["nll"] = recorded
    return float(recorded["nll_nats"])


def recorded_section() -> str:
    """The table of metrics that models needing an input recorded in their specs."""
    lines = [
        RECORDED_START,
        "## Image-to-image and text-to-image",
        "",
        "These models translate a given input or draw for a given caption, so they are "
        "scored against held-out inputs by their training scripts, not by unconditional "
        "sampling. The numbers below are the ones recorded in each plugin's spec and "
        "weights file; each model card gives the protocol and the baselines.",
        "",
        "| weights | data | recorded metrics |",
        "|---|---|---|",
    ]
    for spec in genzoo_core.list_models():
        if spec.condition not in NEEDS_INPUT:
            continue
        for weights in spec.weights:
            values = ", ".join(
                f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}"
                for key, value in weights.metrics.items()
            )
            lines.append(f"| `{spec.name}/{weights.name}` | {weights.dataset} | {values} |")
    lines.append(RECORDED_END)
    return "\n".join(lines)


def report_dataset(weights) -> str:
    """The dataset whose test split a weight's samples are compared with."""
    dataset = weights.dataset.split(":", 1)[0].split(" ", 1)[0]
    return IMAGES_FOR.get(dataset, dataset)


def score(spec, weights, n: int, seed: int) -> dict:
    """Sample one pretrained weight and score it (plus its recorded NLL, if any)."""
    name = f"{spec.name}/{weights.name}"
    dataset = report_dataset(weights)
    print(f"== {name}")
    report = genzoo_core.evaluate(
        name, dataset, metrics=["fid", "kid", "is", "pr"], n=n, seed=seed,
        features=EXTRACTOR_FOR.get(dataset, "inception-v3"),
    )
    if Capability.LOG_PROB in spec.capabilities:
        report["metrics"]["nll_nats"] = recorded_nll(spec, weights, report)
    return report


def update_card(spec, name: str, line: str) -> None:
    """Replace the weight's row between its results markers in the plugin's README."""
    card = ROOT / "plugins" / f"genzoo-{spec.name}" / "README.md"
    if not card.is_file():
        return
    block = f"<!-- results:{name} -->\n{HEADER}\n{RULE}\n{line}\n<!-- /results -->"
    pattern = re.compile(rf"<!-- results:{re.escape(name)} -->.*?<!-- /results -->", re.S)
    text = card.read_text()
    if pattern.search(text):
        card.write_text(pattern.sub(lambda _: block, text))
        print(f"updated {card.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--recorded-only", action="store_true",
                        help="only rewrite the table of recorded image-to-image and "
                        "text-to-image metrics")
    parser.add_argument("--only", metavar="MODEL/WEIGHTS",
                        help="re-score one sampled weight and replace its rows, keeping the rest")
    args = parser.parse_args()
    results_md = ROOT / "docs" / "results.md"
    if args.recorded_only:
        text = results_md.read_text()
        pattern = re.compile(rf"{re.escape(RECORDED_START)}.*?{re.escape(RECORDED_END)}", re.S)
        section = recorded_section()
        text = (pattern.sub(lambda _: section, text) if pattern.search(text)
                else text.rstrip("\n") + "\n\n" + section + "\n")
        results_md.write_text(text)
        print(f"wrote the recorded table of {results_md}")
        return

    scored = [(spec, weights) for spec in genzoo_core.list_models()
              if spec.condition not in NEEDS_INPUT for weights in spec.weights]
    if args.only:
        one = [(spec, w) for spec, w in scored if f"{spec.name}/{w.name}" == args.only]
        if not one:
            names = ", ".join(f"{spec.name}/{w.name}" for spec, w in scored)
            raise SystemExit(f"--only {args.only}: not a sampled pretrained weight; one of {names}")
        spec, weights = one[0]
        report = score(spec, weights, args.n, args.seed)
        line = row(args.only, report)
        results_json = ROOT / "docs" / "results.json"
        everything = json.loads(results_json.read_text())
        everything["models"][args.only] = report
        results_json.write_text(json.dumps(everything, indent=2, default=str) + "\n")
        text = results_md.read_text()
        pattern = re.compile(rf"^\| `{re.escape(args.only)}` \|.*$", re.M)
        if not pattern.search(text):
            raise SystemExit(f"{results_md} has no row for {args.only}: run the full make results")
        results_md.write_text(pattern.sub(lambda _: line, text))
        update_card(spec, args.only, line)
        print(f"replaced the row of {args.only} in {results_md}")
        return

    rows, reports, baselines = [], {}, {}
    for spec, weights in scored:
        name = f"{spec.name}/{weights.name}"
        report = score(spec, weights, args.n, args.seed)
        reports[name] = report
        rows.append((spec, name, row(name, report)))
        dataset = report_dataset(weights)
        extractor = EXTRACTOR_FOR.get(dataset)
        if extractor and dataset not in baselines:
            baselines[dataset] = baseline(dataset, extractor, args.n, args.seed)

    version = importlib.metadata.version("genzoo-core")
    lines = [
        "# Results",
        "",
        f"Every pretrained weight, measured by `make results` (genzoo-core {version}): "
        f"{args.n} generated images (seed {args.seed}) against the test split of the dataset "
        "the weights were trained on. Features come from the shipped classifier of that "
        "dataset (`genzoo_core/extractors/README.md`), so these FIDs are comparable with each "
        "other but not with published Inception-feature FIDs (and KID is on the scale of these "
        "unnormalised features). KID is the mean ± std over 100 "
        "subsets of 1000; IS over 10 splits; precision/recall with k = 3. Models trained on "
        "binarized MNIST are compared with the grey MNIST test images; their NLL is in nats on "
        "the binarized test images, as measured and recorded by their training script "
        "(protocol in each model card). The full settings of every number are in "
        "`results.json`.",
        "",
        HEADER,
        RULE,
        *(r for _, _, r in rows),
        "",
        "For scale, the same metrics with real *training* images in place of generated ones "
        "(the best a model could hope for with this extractor):",
        "",
        HEADER,
        RULE,
        *(row(f"real {d} train images", b) for d, b in baselines.items()),
        "",
        recorded_section(),
        "",
    ]
    results_md.write_text("\n".join(lines))
    everything = {"models": reports, "baselines": baselines}
    text = json.dumps(everything, indent=2, default=str) + "\n"
    (ROOT / "docs" / "results.json").write_text(text)

    for spec, name, line in rows:
        update_card(spec, name, line)
    print(f"wrote {ROOT / 'docs' / 'results.md'}")


if __name__ == "__main__":
    main()
