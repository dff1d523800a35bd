"""Losses of the course: GAN (cross-entropy and energy forms), the single-loss GAN, EBGAN, and IGN.

In the energy form real samples get *low* scores. `frozen(net)` applies a network with its weights
treated as constants (theta' in the derivations of 03 and 05), without copying them and without
computing gradients for them. IGN's three terms follow Shocher et al., ICLR 2024, arXiv:2311.01462.
"""
import copy
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch.func import functional_call

from . import checks
from .checks import CourseError

DISTANCES = ("l1", "l2", "l2sq")


class IGNWeights(NamedTuple):
    """The weights of IGN's three terms: lambda_rec rec + lambda_idem idem + lambda_tight tight."""

    lambda_rec: float
    lambda_idem: float
    lambda_tight: float


def per_sample_distance(a, b, kind="l1"):
    """Per-sample distance d(a, b): mean |a-b| ("l1"), root mean square ("l2"), mean square ("l2sq")."""
    if a.shape != b.shape:
        raise CourseError(f"a distance compares tensors of one shape, got {tuple(a.shape)} and {tuple(b.shape)}.")
    if a.dim() == 0 or len(a) == 0:
        raise CourseError(f"a distance needs a batch of at least one sample, got shape {tuple(a.shape)}.")
    diff = (a - b).reshape(len(a), -1)
    if kind == "l1":
        return diff.abs().mean(1)
    if kind == "l2sq":
        return diff.pow(2).mean(1)
    if kind == "l2":
        return (diff.pow(2).mean(1) + 1e-12).sqrt()
    checks.choice("distance", kind, DISTANCES)


def frozen(net):
    """net with frozen weights: gradients flow through it into its input, never into its weights."""
    weights = {name: p.detach() for name, p in net.named_parameters()}
    weights.update(dict(net.named_buffers()))
    return lambda x: functional_call(net, weights, (x,))


def frozen_copy(net):
    """The paper's listing style: a second module, refreshed by the caller with load_state_dict."""
    twin = copy.deepcopy(net)
    return twin.requires_grad_(False)


# --- GAN, cross-entropy form (D outputs a logit: high means "real") -------------------------------

def gan_d_loss(D, x, fake):
    """Discriminator: -log sigmoid(D(x)) - log(1 - sigmoid(D(fake))), fakes detached."""
    return F.softplus(-D(x)).mean() + F.softplus(D(fake.detach())).mean()


def gan_g_loss(D, fake, kind="nonsaturating"):
    """Generator: "minimax" minimises log(1 - sigmoid(D(G(z)))); "nonsaturating" -log sigmoid(D(G(z)))."""
    if kind == "minimax":
        return -F.softplus(D(fake)).mean()
    if kind == "nonsaturating":
        return F.softplus(-D(fake)).mean()
    checks.choice("generator loss", kind, ("minimax", "nonsaturating"))


# --- GAN, energy form (D outputs an energy: low means "real") -------------------------------------

def energy_d_loss(D, x, fake):
    """Discriminator: push energy down on real data and up on (detached) fakes."""
    return D(x).mean() - D(fake.detach()).mean()


def energy_g_loss(D, fake):
    """Generator: lower the energy of its own samples."""
    return D(fake).mean()


def one_loss_frozen(G, D, x, z):
    """The whole energy GAN as one loss, with frozen copies: D(x) - D(G'(z)) + D'(G(z))."""
    return D(x).mean() - D(frozen(G)(z)).mean() + frozen(D)(G(z)).mean()


def one_loss_stopgrad(G, D, x, z):
    """The same loss with stop-gradients and no copies: D(x) - 2 D(sg(G(z))) + D(G(z))."""
    fake = G(z)
    return D(x).mean() - 2 * D(fake.detach()).mean() + D(fake).mean()


def one_loss_copies(G, D, x, z, copies=None):
    """The frozen-copy loss written literally, with real copies of G and D (for comparison).

    copies: None deep-copies both networks on every call; a pair (G_copy, D_copy) made once with
    `frozen_copy` is refreshed here with load_state_dict, like the IGN paper's listing."""
    if copies is None:
        copies = frozen_copy(G), frozen_copy(D)
    else:
        for net, twin in zip((G, D), copies):
            twin.load_state_dict(net.state_dict())
    G_copy, D_copy = copies
    return D(x).mean() - D(G_copy(z)).mean() + D_copy(G(z)).mean()


def fake_gradients(D, fake, loss="nonsaturating"):
    """The push each fake sample receives from the generator's loss: minus the gradient of that
    sample's own loss with respect to its position, one row per sample.

    loss: "nonsaturating" or "minimax" (cross-entropy, D gives logits), or "energy" (D gives energies)."""
    fake = fake.detach().clone().requires_grad_(True)
    total = energy_g_loss(D, fake) if loss == "energy" else gan_g_loss(D, fake, loss)
    grad, = torch.autograd.grad(total * len(fake), fake)  # the loss is a batch mean
    return -grad


# --- EBGAN: the discriminator is an autoencoder, its energy the reconstruction error ---------------

def energy(autoencoder, y, kind="l1"):
    """delta(y) = d(A(y), y) per sample: an autoencoder's reconstruction error used as energy."""
    role = getattr(autoencoder, "role", "ign")
    if role != "ign":
        raise CourseError(f"the energy delta(y) = d(f(y), y) needs a network that maps samples to samples (an IGN "
                          f"network or an autoencoder), got a {role}; for a GAN's discriminator draw its score, "
                          "e.g. plots.heatmap(D).")
    return per_sample_distance(autoencoder(y), y, kind)


def ebgan_d_loss(A, x, fake, margin=1.0, kind="l1"):
    """EBGAN discriminator: delta(x) + max(0, margin - delta(fake)), fakes detached."""
    return energy(A, x, kind).mean() + F.relu(margin - energy(A, fake.detach(), kind)).mean()


def ebgan_g_loss(A, fake, kind="l1"):
    """EBGAN generator: lower delta of its samples, as judged by the current autoencoder."""
    return energy(A, fake, kind).mean()


# --- IGN -------------------------------------------------------------------------------------------

def tight_clamp(tight, rec, scale=1.5):
    """Squash the (negative, unbounded) tightness per sample: tanh(t / (a r)) * a r, a = scale.

    `rec` is the reconstruction error it is measured against, treated as a constant (detached), so
    the clamp never pushes rec up. The result stays within (-a r, 0]; it is close to t while
    |t| << a r, and its gradient, sech^2(t / (a r)) times t's, fades once |t| exceeds a r: the
    tightness stops pushing a generated sample away once d(f(y), y) is a few times a r (a soft
    margin, as in EBGAN's hinge). a = 1.5 is the value reimplementations attribute to the paper."""
    checks.number("clamp", scale, low=0, low_open=True)
    bound = (scale * rec.detach()).clamp_min(1e-12)  # a perfect reconstruction (r = 0) bounds tight at ~0, not NaN
    return torch.tanh(tight / bound) * bound


def check_source(x, z):
    """IGN's source has the shape of the data: refuse a z whose samples are shaped otherwise
    (a (B, 1) z would broadcast silently against (B, 2) points)."""
    if tuple(z.shape[1:]) != tuple(x.shape[1:]):
        raise CourseError(f"z must have the shape of the data, (N, {', '.join(map(str, x.shape[1:]))}), "
                          f"got {tuple(z.shape)}; IGN's source lives in the data's space.")


def ign_terms(f, x, z, distance="l1", clamp=None, clamp_ref="paired"):
    """IGN's three terms as batch means, each routed as in the paper:

    rec   = d(f(x), x)                   gradient through f
    idem  = d(f'(f(z)), f(z))            through the inner f only (outer f frozen, but passed through)
    tight = -d(f(sg f(z)), sg f(z))      through the outer f only (input detached)

    distance: "l1", "l2" or "l2sq" (per_sample_distance).
    clamp: None, or the scale a of `tight_clamp`; clamp_ref says which reconstruction error
    bounds sample i: "paired" uses d(f(x_i), x_i) of the i-th real sample of the batch (x and z
    batches of equal size), "batch" the batch mean of rec.
    """
    check_source(x, z)
    d = lambda a, b: per_sample_distance(a, b, distance)
    fx, fz = f(x), f(z)
    rec = d(fx, x)                              # through f
    idem = d(frozen(f)(fz), fz)                 # through the inner f only: the outer f is frozen
    fz_const = fz.detach()
    tight = -d(f(fz_const), fz_const)           # through the outer f only: its input is detached
    if clamp is not None:
        if clamp_ref == "paired":
            if len(x) != len(z):
                raise CourseError(f"clamp_ref='paired' pairs x and z sample by sample, but got {len(x)} x's "
                                 f"and {len(z)} z's; use batches of equal size or clamp_ref='batch'.")
            ref = rec
        elif clamp_ref == "batch":
            ref = rec.mean().expand_as(tight)
        else:
            checks.choice("clamp_ref", clamp_ref, ("paired", "batch"))
        tight = tight_clamp(tight, ref, clamp)
    return rec.mean(), idem.mean(), tight.mean()


def ign_loss(f, x, z, weights, distance="l1", clamp=None, clamp_ref="paired"):
    """lambda_rec rec + lambda_idem idem + lambda_tight tight; returns (loss, {"rec", "idem", "tight"}).

    weights: an IGNWeights or a (lambda_rec, lambda_idem, lambda_tight) triple; the trainers hold the
    defaults (train.IGN_DEFAULTS)."""
    rec, idem, tight = ign_terms(f, x, z, distance, clamp, clamp_ref)
    wr, wi, wt = as_weights(weights)
    return wr * rec + wi * idem + wt * tight, {"rec": rec, "idem": idem, "tight": tight}


def ign_loss_stopgrad(f, x, z, weights, distance="l1"):
    """IGN as a one-loss GAN with D = delta, no frozen copy (no clamp):

    lambda_rec delta(x) + lambda_idem delta(f(z)) - (lambda_idem + lambda_tight) delta(sg(f(z)))."""
    return self_gan_loss(f, x, z, lambda fy, y: per_sample_distance(fy, y, distance), weights)


def self_gan_loss(f, x, z, energy, weights):
    """The one-loss GAN with G = f and D(y) = energy(f(y), y), stop-gradient form:

    lambda_rec D(x) + lambda_idem D(f(z)) - (lambda_idem + lambda_tight) D(sg f(z)).
    With a distance as the energy this is IGN (ign_loss_stopgrad); other energies ask whether
    another function of f(y) and y could serve as the discriminator."""
    check_source(x, z)
    wr, wi, wt = as_weights(weights)
    D = lambda y: energy(f(y), y)
    fz = f(z)
    return (wr * D(x) + wi * D(fz) - (wi + wt) * D(fz.detach())).mean()


def as_weights(weights):
    """IGNWeights from a triple of finite numbers >= 0, not all zero (a zero weight turns its term off)."""
    try:
        values = IGNWeights(*weights)
    except TypeError:
        raise CourseError(f"weights must be three numbers (lambda_rec, lambda_idem, lambda_tight), got {weights!r}."
                          ) from None
    for name, value in values._asdict().items():
        checks.number(f"weights.{name}", value, low=0)
    if not any(values):
        raise CourseError("weights are all zero: nothing would be trained; IGN's defaults are train.IGN_DEFAULTS.")
    return values


class Coverage(NamedTuple):
    """The coverage term's settings: `weight` times coverage_loss, with `candidates` x batch z's per step."""

    weight: float = 20.0
    candidates: int = 4


def as_coverage(option):
    """None (off), a weight (candidates 4 x batch), or a Coverage / (weight, candidates) pair."""
    if option is None:
        return None
    if isinstance(option, (int, float)) and not isinstance(option, bool):
        option = Coverage(float(option))
    try:
        weight, candidates = option
    except (TypeError, ValueError):
        weight, candidates = None, None
    good_weight = isinstance(weight, (int, float)) and not isinstance(weight, bool) and weight > 0
    good_candidates = isinstance(candidates, int) and not isinstance(candidates, bool) and candidates >= 1
    if not (good_weight and good_candidates):
        raise CourseError(f"coverage needs a weight > 0 and a whole number of candidates per real sample >= 1, "
                          f"got {option!r}; pass None to turn it off.")
    return Coverage(float(weight), candidates)


def nearest_generated(x, fz, distance="l1"):
    """Index, for each real x_i, of the nearest generated fz_j (per-sample distance; no gradient)."""
    with torch.no_grad():
        a, b = x.reshape(len(x), -1), fz.reshape(len(fz), -1)
        if distance == "l1":
            table = torch.cdist(a, b, p=1)
        elif distance in ("l2", "l2sq"):
            table = torch.cdist(a, b, p=2)        # the same order as the mean square, by monotonicity
        else:
            checks.choice("distance", distance, DISTANCES)
        return table.argmin(1)


def coverage_loss(f, x, pool, distance="l1"):
    """Each real sample pulls its nearest generated sample: mean_i d(x_i, f(z_j(i))).

    An addition to IGN, not one of its terms (in the spirit of the non-adversarial IGN of Al-Jaff et
    al., arXiv:2511.02614, and of IMLE, Li & Malik, arXiv:1809.09087). With a pool of candidate
    sources z_1..z_K (K a few times the batch B of real x_1..x_B):

        j(i)     = argmin_j d(x_i, f(z_j))          chosen without gradient (a lookup, not a loss)
        coverage = (1/B) sum_i d(x_i, f(z_j(i)))    gradient into f through f(z_j(i)) only

    The argmin is piecewise constant, so it has no useful gradient anyway; computing it under
    no_grad also saves the backward pass through the K - B candidates nobody chose. Only the
    chosen z's go through f again, with gradient. Why it fights collapse: the three IGN terms only
    ask generated samples to be fixed points and real ones to be fixed points; nothing asks every
    real digit to have a generated sample near it. Here a real "4" with no generated "4" nearby
    has a large distance to its nearest f(z), and that f(z) is pulled toward it: every real
    sample, hence every class, gets a generated neighbour. x is the target, a constant."""
    check_source(x, pool)
    with torch.no_grad():
        chosen = nearest_generated(x, f(pool), distance)
    return per_sample_distance(f(pool[chosen]), x, distance).mean()


def denoising_loss(f, x, sigma, distance="l1"):
    """Noise on the real inputs: mean_i d(f(x_i + sigma eps_i), x_i), gradient into f, x the target.

    Another addition to IGN (the course's own try against collapse): rec asks f to fix real digits,
    this asks f to bring slightly corrupted digits back to them, so the region that f maps onto
    each real digit grows; a denoising autoencoder's objective (Vincent et al. 2008)."""
    return per_sample_distance(f(x + sigma * torch.randn_like(x)), x, distance).mean()


PAPER_LISTING_WEIGHTS = IGNWeights(1, 1, 0.1)  # and squared L2: the settings of the paper's short listing


def ign_loss_paper_listing(f, f_copy, x, z, weights, distance="l1"):
    """The paper's listing: refresh a second module every step, then the three terms.

    The listing itself uses PAPER_LISTING_WEIGHTS with squared L2."""
    f_copy.load_state_dict(f.state_dict())
    fx, fz = f(x), f(z)
    f_z = fz.detach()
    rec = per_sample_distance(fx, x, distance).mean()
    idem = per_sample_distance(f_copy(fz), fz, distance).mean()
    tight = -per_sample_distance(f(f_z), f_z, distance).mean()
    wr, wi, wt = weights
    return wr * rec + wi * idem + wt * tight


IGN_BUGS = ("tight_frozen", "tight_not_detached", "swapped")


def ign_terms_with_bug(f, x, z, bug, distance="l1"):
    """The routing bugs of public reimplementations, kept to show (and test) that they differ:

    "tight_frozen":       tight through the frozen copy on a detached input (its gradient is zero)
    "tight_not_detached": tight's input not detached (it also pushes f(z) away from the fixed points)
    "swapped":            idem through the outer f, tight through the inner f
    """
    d = lambda a, b: per_sample_distance(a, b, distance)
    fx, fz = f(x), f(z)
    rec = d(fx, x)
    if bug == "tight_frozen":
        idem, tight = d(frozen(f)(fz), fz), -d(frozen(f)(fz.detach()), fz.detach())
    elif bug == "tight_not_detached":
        idem, tight = d(frozen(f)(fz), fz), -d(f(fz), fz)
    elif bug == "swapped":
        idem, tight = d(f(fz.detach()), fz.detach()), -d(frozen(f)(fz), fz)
    else:
        checks.choice("bug", bug, IGN_BUGS)
    return rec.mean(), idem.mean(), tight.mean()


def split_ign_terms(G, A, x, z, distance="l1"):
    """IGN's three losses with the network split in two: generator G and autoencoder A (EBGAN-like).

    rec = d(A(x), x) and tight = -d(A(sg G(z)), sg G(z)) train A; idem = d(A'(G(z)), G(z)) trains G."""
    check_source(x, z)
    d = lambda a, b: per_sample_distance(a, b, distance)
    fake = G(z)
    rec = d(A(x), x)
    idem = d(frozen(A)(fake), fake)
    tight = -d(A(fake.detach()), fake.detach())
    return rec.mean(), idem.mean(), tight.mean()


class EnergyDiscriminator(torch.nn.Module):
    """An autoencoder seen as an energy discriminator: D(y) = d(net(y), y), per sample.

    Built on the IGN network f it is the discriminator hidden inside IGN, so the GAN forms above
    (one_loss_frozen, one_loss_stopgrad) accept it; frozen(D) freezes f's weights."""

    def __init__(self, net, distance="l1"):
        super().__init__()
        self.net, self.distance = net, distance

    def forward(self, y):
        return energy(self.net, y, self.distance)
