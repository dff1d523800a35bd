"""Numbers that judge samples: 2D mode coverage and the success rule, the digits metric, idempotence.

The digits metric, `digits_quality`, judges a batch of generated 8x8 digits (or 28x28 MNIST digits,
09_ign_mnist) with a small shipped classifier of that data set, trained on its training split only
("digit-classifier", "mnist-classifier"):
- **fd**: the Frechet distance between Gaussians fitted to the classifier's features (its
  penultimate layer) of generated digits and of held-out real digits (data.digits(split="test")).
  It is the formula of FID (Heusel et al. 2017, arXiv:1706.08500) with a digit classifier in place
  of the Inception network, so its values are not comparable with published FIDs.
- **floor**: the same distance between two disjoint halves of the held-out real digits, with the
  same sample sizes. A generator as good as the data scores about the floor, never much below.
- **shares**: the share of generated digits the classifier puts in each class (10 numbers), and
  **confidence**: its mean top softmax probability (real held-out digits score about 0.99).

Sample sizes are explicit: the 360 held-out digits (500 for MNIST, whose settings are chosen against
its 500 validation digits instead, `split="val"`) are split at random into a reference half A
and a real half B of `sample` = 180 digits each; the generated score compares `sample` random
generated digits with A, the floor compares B with A. Both are averaged over `repeats` random
splits. Shares and confidence use all the images passed in.
"""
import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from . import checkpoints, checks, data, models
from .losses import energy
from .runtime import CourseError

NEAR_SUCCESS = 0.8  # the 2D success rule: every mode covered and at least this share near a mode
DIGITS_CLASSES_SUCCESS, DIGITS_FD_SUCCESS = 9, 2.0  # the digits rule: >= 9 classes, FD <= 2x the floor


class QualityError(CourseError):
    """Images the metric cannot judge, or a checkpoint that is not a digit classifier."""


def check_points(samples, name="samples"):
    """Validate 2D samples for a metric: a finite tensor (N, 2), N >= 1, returned as float on the CPU."""
    try:
        points = checks.tensor(name, samples.detach() if isinstance(samples, torch.Tensor) else samples, dims=2)
    except CourseError as error:
        raise QualityError(f"{error} A generator whose samples are NaN has diverged: retrain it with a "
                           "smaller learning rate." if "NaN" in str(error) else str(error)) from None
    if points.shape[1] != 2:
        raise QualityError(f"{name} must be 2D points of shape (N, 2), got {tuple(points.shape)}.")
    return points.float().cpu()


def _radius_and_share(name, radius, min_share):
    """The default radius (3 noise standard deviations, at least 0.1) or a given one > 0; min_share in [0, 1]."""
    try:
        checks.number("radius", radius, low=0, low_open=True, none="the default radius")
        checks.number("min_share", min_share, low=0, high=1)
    except CourseError as error:
        raise QualityError(str(error)) from None
    return (max(3 * data.DEFAULT_NOISE[name], 0.1) if radius is None else radius), min_share


def mode_coverage(samples, name="ring", radius=None, min_share=0.01):
    """How well 2D samples cover a mixture's modes (data sets 'ring' and 'grid').

    A sample is *near* a mode when within `radius` (default 3 standard deviations of the data
    noise, at least 0.1); a mode is *covered* when it holds at least `min_share` of the samples.
    Returns {"modes": covered count, "of": number of modes, "near": share of samples near a mode,
    "shares": share of samples at each mode}."""
    modes = data.toy2d_modes(name)
    if modes is None:
        raise QualityError(f"{name!r} has no discrete modes; use metrics.shape_coverage (or coverage_2d) for it.")
    samples = check_points(samples)
    radius, min_share = _radius_and_share(name, radius, min_share)
    dist = torch.cdist(samples, modes)
    near = dist.min(1).values < radius
    shares = torch.bincount(dist.argmin(1)[near], minlength=len(modes)).float() / len(samples)
    return {"modes": int((shares >= min_share).sum()), "of": len(modes),
            "near": float(near.float().mean()), "shares": shares.tolist()}


def is_success(cover):
    """The course's 2D success rule, for a `mode_coverage` result: every mode holds at least 1% of
    the samples (is covered) and at least 80% of the samples lie near a mode."""
    return bool(cover["modes"] == cover["of"] and cover["near"] >= NEAR_SUCCESS)


def is_digits_success(fd, floor, classes):
    """The course's digits success rule, beside the 2D one: at least 9 of the 10 classes hold 3% of
    the samples (`DigitsQuality.covered()`) and the Frechet distance is at most 2x the real-data floor."""
    return bool(classes >= DIGITS_CLASSES_SUCCESS and fd <= DIGITS_FD_SUCCESS * floor)


def score_2d(samples, name):
    """Mode coverage of 2D samples of a mixture ('ring', 'grid'), rounded for a results file, and success."""
    cover = mode_coverage(samples, name)
    return {"modes": cover["modes"], "of": cover["of"], "near": round(cover["near"], 4),
            "shares": [round(s, 4) for s in cover["shares"]], "min_share": round(min(cover["shares"]), 4),
            "success": is_success(cover)}


def near_data(samples, reference, radius=0.15):
    """Share of samples within `radius` of some reference point (a quality score for any 2D set)."""
    checks.number("radius", radius, low=0, low_open=True)
    dist = torch.cdist(check_points(samples), check_points(reference, "reference"))
    return float((dist.min(1).values < radius).float().mean())


def mode_shares(samples, name="ring"):
    """Share of 2D samples whose *nearest* mode is each mode, however far: where the mass sits."""
    modes = data.toy2d_modes(name)
    if modes is None:
        raise QualityError(f"{name!r} has no discrete modes; choose 'ring' or 'grid'.")
    nearest = torch.cdist(check_points(samples), modes).argmin(1)
    return (torch.bincount(nearest, minlength=len(modes)).float() / len(samples)).tolist()


def oscillation(shares_over_time):
    """How much of the generated mass changes mode between successive snapshots.

    `shares_over_time`: one row of mode shares (e.g. `mode_shares`) per snapshot. Returns the mean
    total-variation distance between consecutive rows: 0 when the distribution holds still,
    1 when all of the mass moves to other modes at every snapshot."""
    try:
        rows = torch.as_tensor(shares_over_time, dtype=torch.float32)
    except (TypeError, ValueError):
        raise QualityError("shares_over_time must be a table: one row of mode shares per snapshot, every row as "
                           "long as the others (one share per mode).") from None
    if rows.dim() != 2 or len(rows) < 2 or not torch.isfinite(rows).all():
        raise QualityError(f"need at least two snapshots of finite mode shares (a 2D table), got "
                           f"{rows.tolist()!r:.80}.")
    return float(0.5 * (rows[1:] - rows[:-1]).abs().sum(1).mean())


class ModeTrace:
    """A training callback that follows a 2D generator: `callback(step, history)` for train.train_gan.

    Each call samples G on the same `n` z's and records the step, the nearest-mode shares
    (`mode_shares`), the covered modes and near share (`mode_coverage`) and the samples' mean."""

    def __init__(self, G, name="ring", n=1000, seed=0):
        self.G, self.name = G, name
        self.z = data.noise(G.latent_shape, n, seed)
        self.steps, self.shares, self.modes, self.near, self.means = [], [], [], [], []

    @torch.no_grad()
    def __call__(self, step, history=None):
        with models.evaluating(self.G) as G:
            fake = G(self.z.to(models.device_of(G))).cpu()
        cover = mode_coverage(fake, self.name)
        self.steps.append(step)
        self.shares.append(mode_shares(fake, self.name))
        self.modes.append(cover["modes"])
        self.near.append(cover["near"])
        self.means.append(fake.mean(0).tolist())

    def need(self, n, what):
        """Refuse a trace of fewer than n snapshots, saying how to record them."""
        if len(self.steps) < n:
            raise QualityError(f"{what} needs a trace of at least {n} snapshot(s), this one has {len(self.steps)}: "
                               "pass it to train.train_gan(..., callback=trace, every=K) and train for more steps.")

    def oscillation(self, after=0.5):
        """`oscillation` of the mode shares recorded from `after` (a fraction of the run) to the end."""
        self.need(2, "oscillation")
        start = after * self.steps[-1] if self.steps else 0
        return oscillation([s for step, s in zip(self.steps, self.shares) if step >= start])


@torch.no_grad()
def idempotence_error(f, z, kind="l1"):
    """Mean d(f(f(z)), f(z)): zero when f is idempotent on its own outputs.

    For d(f(x), x) per sample, the reconstruction error (the energy delta), use losses.energy."""
    return float(energy(f, f(z), kind).mean())


# --- the digits metric --------------------------------------------------------------------------------

CLASSIFIER = "digit-classifier"
CLASSIFIERS = {"digits": CLASSIFIER, "mnist": "mnist-classifier"}  # the metric's classifier of each image set
SAMPLE = 180
REPEATS = 20


@dataclass(frozen=True)
class DigitsQuality:
    """The result of digits_quality: distances, class shares, confidence and the sample sizes used."""

    fd: float
    floor: float
    shares: tuple
    confidence: float
    images: int
    sample: int
    repeats: int

    def covered(self, min_share=0.03):
        """Number of digit classes holding at least `min_share` of the images."""
        return sum(share >= min_share for share in self.shares)

    def __str__(self):
        shares = " ".join(f"{k}:{s:.0%}" for k, s in enumerate(self.shares))
        return (f"FD {self.fd:.1f} (real-data floor {self.floor:.1f}; {self.sample} vs {self.sample} "
                f"digits, mean of {self.repeats} splits) | confidence {self.confidence:.3f} | "
                f"classes with >= 3%: {self.covered()}/10 | shares of {self.images} images: {shares}")


def check_images(images, minimum=1):
    """Validate images for the metric: a finite tensor (N, 1, 8, 8) or (N, 1, 28, 28) with values in [-1, 1],
    N >= minimum."""
    if not isinstance(images, torch.Tensor):
        raise QualityError(f"images must be a torch.Tensor, got {type(images).__name__}.")
    if images.dim() != 4 or tuple(images.shape[1:]) not in ((1, 8, 8), (1, 28, 28)):
        raise QualityError(f"images must have shape (N, 1, 8, 8) like data.digits() or (N, 1, 28, 28) like "
                           f"data.mnist(), got {tuple(images.shape)}; reshape flat vectors with "
                           "images.reshape(-1, 1, 8, 8) (or 28, 28).")
    if len(images) < minimum:
        raise QualityError(f"need at least {minimum} images, got {len(images)}; generate more "
                           "(1,000 is a good number).")
    images = images.detach().float().cpu()
    bad = (~torch.isfinite(images)).sum().item()
    if bad:
        raise QualityError(f"images contain {bad} NaN or infinite values; the generator has probably "
                           "diverged: retrain it with a smaller learning rate.")
    low, high = images.min().item(), images.max().item()
    if low < -1.01 or high > 1.01:
        raise QualityError(f"images must lie in [-1, 1] like data.digits(), got values in [{low:.3g}, {high:.3g}]; "
                           "rescale them (raw 0..16 pixels: x / 8 - 1) or clamp them.")
    if low >= 0:
        raise QualityError("images have no negative values: they look scaled to [0, 1], but digits here are in "
                           "[-1, 1] with background -1 (pass 2 * x - 1), or the generator draws no background.")
    return images


@functools.lru_cache(maxsize=4)
def classifier(name=CLASSIFIER):
    """A shipped classifier of the metric, "digit-classifier" or "mnist-classifier" (loaded once, on the CPU,
    in eval mode)."""
    model = checkpoints.load(name, map_location="cpu")
    if getattr(model, "role", None) != "classifier":
        raise QualityError(f"checkpoint {name!r} holds a {model.meta['model']['kind']}, not a digit "
                           f"classifier; use a shipped one: {', '.join(CLASSIFIERS.values())}.")
    return model


def forget_classifiers():
    """Drop the loaded classifiers and their reference features (after a classifier's checkpoint is rewritten)."""
    classifier.cache_clear()
    _reference_features.cache_clear()


def _classifier(model, images=None):
    """The classifier `model` names or is; None: the shipped one for the image set of `images`."""
    if model is None:
        model = CLASSIFIERS[_image_set(images)]
    if isinstance(model, str):
        return classifier(model)
    if getattr(model, "role", None) != "classifier":
        raise QualityError(f"expected a classifier built by models.build('conv-classifier'), got "
                           f"{type(model).__name__}.")
    return model


def _image_set(images):
    try:
        return data.image_set_of(images)
    except CourseError as error:
        raise QualityError(str(error)) from None


@torch.no_grad()
def features(images, model=None):
    """The classifier's penultimate-layer features of images, as float64 (N, feature_dim); model None:
    the shipped classifier of the images' data set."""
    images = check_images(images)
    with models.evaluating(_classifier(model, images), "cpu") as net:
        return net.features(images).double()


def gaussian(feats):
    """Mean and covariance of features (N, d): the Gaussian the Frechet distance compares."""
    return feats.mean(0), torch.cov(feats.T)


def sqrtm_psd(matrix):
    """Square root of a symmetric positive semi-definite matrix, by eigendecomposition."""
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(feats_a, feats_b):
    """|mu_a - mu_b|^2 + tr(C_a) + tr(C_b) - 2 tr((C_a^1/2 C_b C_a^1/2)^1/2), computed in float64.

    feats_a (n, d) and feats_b (m, d): one row per sample, n and m >= 2."""
    for name, feats in (("feats_a", feats_a), ("feats_b", feats_b)):
        if not isinstance(feats, torch.Tensor) or feats.dim() != 2 or len(feats) < 2:
            raise QualityError(f"{name} must be a tensor (samples, features) with at least 2 rows, got "
                               f"{tuple(getattr(feats, 'shape', ())) or type(feats).__name__}.")
        if not torch.isfinite(feats).all():
            raise QualityError(f"{name} contains NaN or infinite values.")
    if feats_a.shape[1] != feats_b.shape[1]:
        raise QualityError(f"both feature sets need the same number of columns, got {feats_a.shape[1]} "
                           f"and {feats_b.shape[1]}.")
    mu_a, cov_a = gaussian(feats_a.double())
    mu_b, cov_b = gaussian(feats_b.double())
    root_a = sqrtm_psd(cov_a)
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    return float((mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * cross)


@functools.lru_cache(maxsize=8)
def _reference_features(name, image_set="digits", split="test"):
    return features(data.image_set(image_set, split)[0], name)


@torch.no_grad()
def digits_quality(images, sample=SAMPLE, repeats=REPEATS, seed=0, model=None, split="test"):
    """Judge generated digits (N, 1, 8, 8), or MNIST digits (N, 1, 28, 28), in [-1, 1], N >= sample; returns a
    DigitsQuality. model None: the shipped classifier of that image set. split: the held-out real digits to
    compare with, "test" (to report, once), or "val" for MNIST (to choose settings on).

    See the module's docstring for what each number means and which samples it uses."""
    try:
        checks.whole("repeats", repeats, 1)
        checks.whole("seed", seed)
    except CourseError as error:
        raise QualityError(str(error)) from None
    if not isinstance(images, torch.Tensor) or tuple(images.shape[1:]) not in ((1, 8, 8), (1, 28, 28)):
        check_images(images)  # says what it takes
    image_set = _image_set(images)
    if split not in ("test", "val") or split == "val" and image_set != "mnist":
        raise QualityError(f"split must be 'test' (or 'val', for MNIST digits, whose settings are chosen on it), "
                           f"got {split!r} for {image_set}; to choose settings for the 8x8 digits use "
                           "metrics.distance_to_held_out(images, split='val').")
    model = CLASSIFIERS[image_set] if model is None else model
    reference = _reference_features(model, image_set, split) if isinstance(model, str) else features(
        data.image_set(image_set, split)[0], model)
    if isinstance(sample, bool) or not isinstance(sample, int) or not 2 <= sample <= len(reference) // 2:
        raise QualityError(f"sample must be a whole number from 2 to {len(reference) // 2} (half the "
                           f"held-out digits), got {sample!r}.")
    images = check_images(images, minimum=sample)
    with models.evaluating(_classifier(model, images), "cpu") as net:
        generated = net.features(images).double()
        probs = F.softmax(net.head(generated.float()), dim=1)
    splits, picks = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 1)
    fds, floors = [], []
    for _ in range(repeats):
        order = torch.randperm(len(reference), generator=splits)
        half_a, half_b = reference[order[:sample]], reference[order[sample:2 * sample]]
        mine = generated[torch.randperm(len(generated), generator=picks)[:sample]]
        fds.append(frechet_distance(mine, half_a))
        floors.append(frechet_distance(half_b, half_a))
    shares = torch.bincount(probs.argmax(1), minlength=net.classes).float() / len(images)
    return DigitsQuality(fd=sum(fds) / repeats, floor=sum(floors) / repeats,
                         shares=tuple(round(s, 4) for s in shares.tolist()),
                         confidence=float(probs.max(1).values.mean()), images=len(images),
                         sample=sample, repeats=repeats)


@dataclass(frozen=True)
class HeldOutDistance:
    """The result of distance_to_held_out (see there)."""

    fd: float
    floor: float
    kid: float
    kid_se: float
    kid_floor: float
    images: int
    held_out: int

    @property
    def excess(self):
        """FD minus the floor: how far the images are beyond what real digits score."""
        return self.fd - self.floor

    def __str__(self):
        return (f"FD {self.fd:.2f} (floor {self.floor:.2f}, excess {self.excess:.2f}) | KID x1000 "
                f"{1e3 * self.kid:.2f} +- {1e3 * self.kid_se:.2f} (real digits {1e3 * self.kid_floor:.2f}) | "
                f"{self.images} images against {self.held_out} held-out digits")


def kernel_distance(feats_a, feats_b, blocks=10):
    """KID: the unbiased squared MMD between features a (blocks of them) and all of b with the kernel
    (a.b / d + 1)^3, both divided by b's mean standard deviation per feature (so the kernel sees features of
    unit scale); returns (mean over `blocks` blocks of a, its standard error)."""
    d, scale = feats_a.shape[1], feats_b.std(0).mean()
    feats_a, feats_b = feats_a / scale, feats_b / scale
    k_bb = (feats_b @ feats_b.T / d + 1) ** 3
    m = len(feats_b)
    bb = (k_bb.sum() - k_bb.diagonal().sum()) / (m * (m - 1))
    values = []
    for part in feats_a.chunk(blocks):
        n = len(part)
        k_aa, k_ab = (part @ part.T / d + 1) ** 3, (part @ feats_b.T / d + 1) ** 3
        values.append(float((k_aa.sum() - k_aa.diagonal().sum()) / (n * (n - 1)) + bb - 2 * k_ab.mean()))
    values = torch.tensor(values, dtype=torch.float64)
    return float(values.mean()), float(values.std() / len(values) ** 0.5)


TRAINING_SIDE = {"test": "train", "val": "fit"}  # the real digits that give the floor of each held-out split


@torch.no_grad()
def distance_to_held_out(images, split="test", seed=0, blocks=10):
    """All `images` (8x8 digits or 28x28 MNIST, at least 100) against every digit of the held-out `split`
    ("test", or "val" to choose settings on), in the shipped classifier's features: the FD; its floor, the FD
    of as many real digits of the training side (8x8: "train" for test, "fit" for val; MNIST: "train"),
    picked with `seed`; KID with its standard error over `blocks` blocks, and the KID of those real digits.
    Returns a HeldOutDistance."""
    images = check_images(images, minimum=100)
    image_set = _image_set(images)
    if split not in TRAINING_SIDE:
        raise QualityError(f"split must be 'test' (to report, once) or 'val' (to choose settings on), "
                           f"got {split!r}.")
    model = CLASSIFIERS[image_set]
    held_out = _reference_features(model, image_set, split)
    real = data.image_set(image_set, TRAINING_SIDE[split] if image_set == "digits" else "train")[0]
    if len(images) > len(real):
        raise QualityError(f"at most {len(real)} images: the floor needs as many real training digits, "
                           f"got {len(images)}.")
    real = real[torch.randperm(len(real), generator=torch.Generator().manual_seed(seed))[:len(images)]]
    mine, theirs = features(images, model), features(real, model)
    kid, kid_se = kernel_distance(mine, held_out, blocks)
    return HeldOutDistance(fd=frechet_distance(mine, held_out), floor=frechet_distance(theirs, held_out),
                           kid=kid, kid_se=kid_se, kid_floor=kernel_distance(theirs, held_out, blocks)[0],
                           images=len(images), held_out=len(held_out))


@torch.no_grad()
def accuracy(model, split="test"):
    """Share of the digits of a split that the classifier labels correctly (its data set: from its input shape)."""
    net = _classifier(model)
    images, labels = data.image_set("mnist" if net.data_shape == (1, 28, 28) else "digits", split)
    with models.evaluating(net, "cpu") as net:
        return float((net(images).argmax(1) == labels).float().mean())


# --- 2D sets without discrete modes (moons, spiral, circles): regions in place of modes -------------------

SHAPE_REGIONS = 8  # regions a shape is cut into, as the ring has 8 modes


def _components(points, eps):
    """Labels of the connected pieces of a point cloud, two points linked when closer than `eps`."""
    linked = torch.cdist(points, points) < eps
    labels = torch.arange(len(points))
    while True:
        spread = torch.where(linked, labels[None, :], len(points)).min(1).values
        spread = spread[spread]  # a label's own label: the smallest index travels faster along the chain
        if torch.equal(spread, labels):
            return torch.unique(labels, return_inverse=True)[1]
        labels = spread


def _kmeans(points, k, iterations=25):
    """k-means centres of points: farthest-point starts from the first point, then Lloyd's iterations."""
    picked = [0]
    dist = torch.cdist(points, points[:1]).squeeze(1)
    for _ in range(k - 1):
        picked.append(int(dist.argmax()))
        dist = torch.minimum(dist, torch.cdist(points, points[picked[-1]:picked[-1] + 1]).squeeze(1))
    centres = points[picked].clone()
    for _ in range(iterations):
        cell = torch.cdist(points, centres).argmin(1)
        centres = torch.stack([points[cell == j].mean(0) if (cell == j).any() else centres[j] for j in range(k)])
    return centres


@functools.lru_cache(maxsize=8)
def shape_regions(name, k=SHAPE_REGIONS, n=1000, link=0.2):
    """The regions that play the modes on a 2D set without modes: (anchors (k, 2), curve (n, 2), labels (n,)).

    `curve`: n points of the set drawn with no noise (a fixed seed). It is split into its connected
    pieces (points closer than `link` are linked: the two moons, the two circles), the k regions are
    shared out between the pieces in proportion to their sizes, and each piece is cut into its share
    by k-means (`anchors`: the centres). `labels[i]`: the region of curve point i. A sample belongs to
    the region of its nearest curve point, so a region never straddles two pieces."""
    if data.toy2d_modes(name) is not None:
        raise QualityError(f"{name!r} has discrete modes; use metrics.mode_coverage for it.")
    curve = data.toy2d(name, n, seed=999, noise=0.0)
    piece = _components(curve, link)
    sizes = torch.bincount(piece).tolist()
    quota = [max(1, int(k * s / n)) for s in sizes]
    for j in sorted(range(len(sizes)), key=lambda j: -(k * sizes[j] / n - int(k * sizes[j] / n))):
        if sum(quota) >= k:
            break
        quota[j] += 1
    anchors, labels = [], torch.empty(n, dtype=torch.long)
    for j, q in enumerate(quota):
        where = (piece == j).nonzero().squeeze(1)
        centres = _kmeans(curve[where], q)
        labels[where] = torch.cdist(curve[where], centres).argmin(1) + len(anchors)
        anchors += list(centres)
    return torch.stack(anchors), curve, labels


def shape_coverage(samples, name, radius=None, min_share=0.01):
    """`mode_coverage` for a 2D set without modes ('moons', 'spiral', 'circles'), with the same keys.

    A sample is *near* when within `radius` (default 3 standard deviations of the data noise, as for
    the modes) of the noise-free set; the set is cut into SHAPE_REGIONS regions (`shape_regions`) that
    play the modes: a region is *covered* when it holds at least `min_share` of the samples near it.
    So the 2D success rule, `is_success`, reads the same for every set: every mode (region) holds
    at least 1% of the samples and at least 80% of them lie near the data. Real data score about
    99.7% near and every region covered."""
    anchors, curve, labels = shape_regions(name)
    samples = check_points(samples)
    radius, min_share = _radius_and_share(name, radius, min_share)
    dist, nearest = torch.cdist(samples, curve).min(1)
    near = dist < radius
    cell = labels[nearest]
    shares = torch.bincount(cell[near], minlength=len(anchors)).float() / len(samples)
    return {"modes": int((shares >= min_share).sum()), "of": len(anchors),
            "near": float(near.float().mean()), "shares": shares.tolist()}


def coverage_2d(samples, name):
    """`mode_coverage` for the ring and the grid, `shape_coverage` for the other 2D sets."""
    return mode_coverage(samples, name) if data.toy2d_modes(name) is not None else shape_coverage(samples, name)


def score_any_2d(samples, name):
    """`score_2d` for any 2D set of data.TOY2D: modes, or regions for the sets without modes."""
    cover = coverage_2d(samples, name)
    return {"modes": cover["modes"], "of": cover["of"], "near": round(cover["near"], 4),
            "shares": [round(s, 4) for s in cover["shares"]], "min_share": round(min(cover["shares"]), 4),
            "success": is_success(cover)}
