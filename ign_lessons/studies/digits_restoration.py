"""06_ign_digits' projection and interpolation, measured against baselines over seeds.

    python3 course.py study digits-restoration

Does IGN's f restore a corrupted digit? Each model below trains STEPS steps on the training digits over
SEEDS (batch 128, Adam 1e-4, betas (0.5, 0.999), the conv-ign network of 06: the same size for all), and is
judged on every test digit under every data.CORRUPTIONS kind (and clean): the L1 distance to the clean digit
and the classifier's accuracy, before, after one application and after two.
- `ign`: 06's shipped recipe (IGN + coverage term, data-matched source, lambda_t = 10);
- `ign-lt20`: IGN with the data-matched source and lambda_t = 20, no coverage term (the recipe digits-select
  chose on the validation split);
- `ign-noisy-reals`: the same plus noise on the real inputs (losses.denoising_loss, sigma 0.3), the one recipe
  in reach that is asked to bring damaged digits back;
- `denoiser`: a denoising autoencoder of IGN's network (train.DenoisingStep: Gaussian noise, sigma up to 0.6);
- `split-autoencoder`: split IGN's autoencoder A (07's split-ign settings), the "discriminator" half;
- `nearest`: no training: the nearest training digit (L1), the projection onto the data themselves;
- `shipped`: the shipped ign-digits (12,000 steps), the model 06 shows.
Interpolation, for the same models: the middles (t = 3/8, 1/2, 5/8) of PAIRS random pairs of test digits of
two classes, as blends and after the model: how often the classifier reads one of the two end digits.
Budget: about 20 minutes on 2 cores (`--jobs 2`); --fast: seconds.
"""
import torch

from .. import checkpoints, data, metrics, models, train
from ..losses import Coverage, IGNWeights
from . import study
from .compare_digits import MODELS as CONTEST
from .ign_digits import BASE, CONDITIONS, NETWORK, SHIPPED, build

STEPS, SEEDS, PAIRS = 3000, (0, 1, 2), 300
MIDDLES = (0.375, 0.5, 0.625)
RECIPES = ("ign", "ign-lt20", "ign-noisy-reals", "denoiser", "split-autoencoder", "nearest", "shipped")
FAST = {"steps": 8, "seeds": (0,), "pairs": 40}


def train_model(name, seed, steps, images):
    """The trained network of RECIPES entry `name` (None for `nearest`)."""
    if name == "nearest":
        return None
    if name == "shipped":
        return checkpoints.load("ign-digits", map_location="cpu")
    samples, gen, _ = train.prepare(images, seed)
    if name.startswith("ign"):
        recipe = CONDITIONS["data source, lt 20"] if name == "ign-lt20" else SHIPPED
        f = build(seed, recipe["source"], images=images)
        coverage = Coverage(*recipe["coverage"]) if "coverage" in recipe else None
        step = train.IGNStep(f, samples, gen, IGNWeights(*recipe["weights"]), BASE["distance"], BASE["clamp"],
                             "paired", BASE["batch"], BASE["lr"], BASE["betas"], coverage=coverage,
                             real_noise=0.3 if name == "ign-noisy-reals" else None)
        net = f
    elif name == "denoiser":
        net = models.build("conv-ign", **NETWORK)
        step = train.DenoisingStep(net, samples, gen, batch=BASE["batch"], lr=BASE["lr"], betas=BASE["betas"])
    else:
        s = CONTEST["split-ign"]
        G = models.build("conv-ign", **NETWORK, source=data.image_source(s["source"], images))
        net = models.build("conv-ign", **NETWORK)
        step = train.SplitIGNStep(G, net, samples, gen, s["weights"], s["distance"], s["batch"], s["lr"],
                                  tuple(s["betas"]))
    train.run(step, steps, step.nets, name, progress=False)
    return net.eval()


@torch.no_grad()
def apply(net, images, reference):
    """The model's projection of images: net(images), or the nearest image of `reference` (net None)."""
    if net is None:
        return reference[torch.cdist(images.flatten(1), reference.flatten(1), p=1).argmin(1)]
    return net(images).clamp(-1, 1)


@torch.no_grad()
def restoration(net, seed, reference):
    """Per corruption (and "clean"): L1 to the clean test digit and accuracy, before, after one application,
    after two."""
    test, labels = data.digits(split="test")
    classifier = metrics.classifier()
    rows = {}
    for kind in ("clean", *data.CORRUPTIONS):
        before = test if kind == "clean" else data.corrupt(test, kind, seed)
        once = apply(net, before, reference)
        twice = apply(net, once, reference)
        rows[kind] = {name: {"dist": round(float((x - test).abs().flatten(1).mean(1).mean()), 4),
                             "acc": round(float((classifier(x).argmax(1) == labels).float().mean()), 4)}
                      for name, x in (("before", before), ("once", once), ("twice", twice))}
    return rows


@torch.no_grad()
def interpolation(net, seed, pairs, reference):
    """Middles of `pairs` random pairs of test digits of two classes: the share the classifier reads as one of
    the two end digits, and its mean confidence, for the plain blends and after the model."""
    test, labels = data.digits(split="test")
    pick = torch.randint(len(test), (2, 3 * pairs), generator=torch.Generator().manual_seed(1000 + seed))
    pick = pick[:, labels[pick[0]] != labels[pick[1]]][:, :pairs]
    t = torch.tensor(MIDDLES).view(1, -1, 1, 1, 1)
    blends = ((1 - t) * test[pick[0]][:, None] + t * test[pick[1]][:, None]).flatten(0, 1)
    ends = labels[pick].T.repeat_interleave(len(MIDDLES), 0)
    classifier = metrics.classifier()
    out = {}
    for name, x in (("blend", blends), ("after", apply(net, blends, reference))):
        probs = torch.softmax(classifier(x), 1)
        out[name] = {"one_of_ends": round(float((probs.argmax(1)[:, None] == ends).any(1).float().mean()), 4),
                     "confidence": round(float(probs.max(1).values.mean()), 4)}
    out["pairs"] = pick.shape[1]
    return out


def run(config, seed):
    """One model and seed: train it, then measure restoration and interpolation."""
    images = data.digits(split="train")[0]
    net = train_model(config["model"], seed, config["steps"], images)
    return {"metrics": {"restoration": restoration(net, seed, images),
                        "interpolation": interpolation(net, seed, config["pairs"], images)}}


def grid(fast, root=None):
    steps, seeds, pairs = (FAST["steps"], FAST["seeds"], FAST["pairs"]) if fast else (STEPS, SEEDS, PAIRS)
    return [{"key": f"{name}-seed{seed}", "seed": seed, "config": {"model": name, "steps": steps, "pairs": pairs}}
            for name in RECIPES for seed in seeds]


def summarize(records, fast):
    """Per model: every seed's measures, and the mean over seeds."""
    out = {}
    for name in RECIPES:
        runs = [r["metrics"] for r in records if r["config"]["model"] == name]

        def mean(get, runs=runs):
            return round(sum(get(m) for m in runs) / len(runs), 4)

        table = {kind: {when: {q: mean(lambda m, k=kind, w=when, q=q: m["restoration"][k][w][q])
                               for q in ("dist", "acc")} for when in ("before", "once", "twice")}
                 for kind in runs[0]["restoration"]}
        inter = {which: {q: mean(lambda m, w=which, q=q: m["interpolation"][w][q])
                         for q in ("one_of_ends", "confidence")} for which in ("blend", "after")}
        out[name] = {"mean": table, "interpolation": inter, "runs": runs,
                     "seeds": [r["seed"] for r in records if r["config"]["model"] == name]}
    return {"models": out, "corruptions": list(data.CORRUPTIONS), "steps": records[0]["config"]["steps"],
            "middles": list(MIDDLES)}


study("digits-restoration", doc="projection of corrupted digits and interpolation, IGN against baselines (06)",
      after=("ign-digits",), grid=grid, summarize=summarize,
      budget="about 20 minutes on 2 cores (--jobs 2); --fast: seconds")(run)
