"""Losses of the course: GAN (cross-entropy and energy forms), the single-loss GAN, EBGAN, and IGN.

Conventions follow IGN_NOTES (see the README's sources): in the energy form real samples get
*low* scores; `frozen(net)` applies a network with its weights treated as constants (the notes'
theta'), without copying them and without computing gradients for them.
"""
import copy

import torch
import torch.nn.functional as F
from torch.func import functional_call

DISTANCES = ("l1", "l2", "l2sq")


def per_sample_distance(a, b, kind="l1"):
    """Per-sample distance d(a, b): mean |a-b| ("l1"), root mean square ("l2"), mean square ("l2sq")."""
    diff = (a - b).reshape(len(a), -1)
    if kind == "l1":
        return diff.abs().mean(1)
    if kind == "l2sq":
        return diff.pow(2).mean(1)
    if kind == "l2":
        return (diff.pow(2).mean(1) + 1e-12).sqrt()
    raise ValueError(f"Unknown distance {kind!r}; choose one of {', '.join(DISTANCES)}.")


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
    raise ValueError(f"Unknown generator loss {kind!r}; choose 'minimax' or 'nonsaturating'.")


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


# --- EBGAN: the discriminator is an autoencoder, its energy the reconstruction error ---------------

def energy(autoencoder, y, kind="l1"):
    """delta(y) = d(A(y), y) per sample: an autoencoder's reconstruction error used as energy."""
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
    bound = scale * rec.detach()
    return torch.tanh(tight / bound) * bound


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
    d = lambda a, b: per_sample_distance(a, b, distance)
    fx, fz = f(x), f(z)
    rec = d(fx, x)
    idem = d(frozen(f)(fz), fz)
    fz_const = fz.detach()
    tight = -d(f(fz_const), fz_const)
    if clamp is not None:
        if clamp_ref == "paired":
            if len(x) != len(z):
                raise ValueError(f"clamp_ref='paired' pairs x and z sample by sample, but got {len(x)} x's "
                                 f"and {len(z)} z's; use batches of equal size or clamp_ref='batch'.")
            ref = rec
        elif clamp_ref == "batch":
            ref = rec.mean().expand_as(tight)
        else:
            raise ValueError(f"clamp_ref must be 'paired' or 'batch', got {clamp_ref!r}.")
        tight = tight_clamp(tight, ref, clamp)
    return rec.mean(), idem.mean(), tight.mean()


def ign_loss(f, x, z, weights=(20, 20, 2.5), distance="l1", clamp=None, clamp_ref="paired"):
    """lambda_r rec + lambda_i idem + lambda_t tight; returns (loss, {"rec", "idem", "tight"})."""
    rec, idem, tight = ign_terms(f, x, z, distance, clamp, clamp_ref)
    wr, wi, wt = weights
    return wr * rec + wi * idem + wt * tight, {"rec": rec, "idem": idem, "tight": tight}


def ign_loss_stopgrad(f, x, z, weights=(20, 20, 2.5), distance="l1"):
    """IGN as a one-loss GAN with D = delta, no frozen copy (no clamp):

    lambda_r delta(x) + lambda_i delta(f(z)) - (lambda_i + lambda_t) delta(sg(f(z)))."""
    wr, wi, wt = weights
    fz = f(z)
    delta = lambda y: energy(f, y, distance)
    return (wr * delta(x) + wi * delta(fz) - (wi + wt) * delta(fz.detach())).mean()


def ign_loss_paper_listing(f, f_copy, x, z, weights=(1, 1, 0.1), distance="l2sq"):
    """The paper's listing: refresh a second module every step, then the three terms."""
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
        raise ValueError(f"Unknown bug {bug!r}; choose one of {', '.join(IGN_BUGS)}.")
    return rec.mean(), idem.mean(), tight.mean()


def split_ign_terms(G, A, x, z, distance="l1"):
    """IGN's three losses with the network split in two: generator G and autoencoder A (EBGAN-like).

    rec = d(A(x), x) and tight = -d(A(sg G(z)), sg G(z)) train A; idem = d(A'(G(z)), G(z)) trains G."""
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
