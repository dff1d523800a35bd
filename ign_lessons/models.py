"""Networks of the course: MLPs for 2D, DCGAN-style convolutional nets for images, the IGN net `f`.

Every model made by `build(kind, **options)` remembers how it was made (`model.spec`), so a
checkpoint can rebuild it. `kind` is one of KINDS.
"""
import contextlib
import inspect

import torch
import torch.nn as nn

from . import checks, data
from .checks import CourseError


class MLP(nn.Sequential):
    """A plain multilayer perceptron: `depth` hidden layers of `hidden` units."""

    def __init__(self, inputs, outputs, hidden=128, depth=3, activation=nn.LeakyReLU):
        layers, width = [], inputs
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), activation()]
            width = hidden
        layers.append(nn.Linear(width, outputs))
        super().__init__(*layers)


def _groups(channels):
    return min(8, channels)


def halvings(size):
    """(base, k) with size = base * 2^k and base from 4 to 7: the side a DCGAN stack halves down to
    (8 -> 4, 16 -> 8 -> 4, 28 -> 14 -> 7) and how many stride-2 layers that takes."""
    if isinstance(size, bool) or not isinstance(size, int):
        raise CourseError(f"image size must be a whole number, got {size!r}")
    base, k = size, 0
    while base > 7 and base % 2 == 0:
        base, k = base // 2, k + 1
    if not 4 <= base <= 7:
        raise CourseError(f"image size must be 4 to 7 times a power of two (8, 16, 28, 32, ...), got {size}")
    return base, k


def _check_refine(refine):
    if isinstance(refine, bool) or not isinstance(refine, int) or refine < 0:
        raise CourseError(f"refine (extra stride-1 convolutions at full resolution) must be a whole "
                         f"number >= 0, got {refine!r}")
    return refine


class ConvEncoder(nn.Module):
    """DCGAN discriminator body: stride-2 convolutions down to 4x4 (7x7 for 28x28, see `halvings`), then one
    convolution as large as what is left, to (latent, 1, 1).

    refine > 0 first adds that many stride-1 3x3 convolutions (width // 2 channels) at full resolution."""

    def __init__(self, size=8, channels=1, width=32, latent=32, refine=0):
        super().__init__()
        base, downs = halvings(size)
        layers, c = [], channels
        for i in range(_check_refine(refine)):  # stride-1 3x3 convolutions at full resolution
            out = max(width // 2, 1)
            layers += [nn.Conv2d(c, out, 3, 1, 1), *([nn.GroupNorm(_groups(out), out)] if i else []),
                       nn.LeakyReLU(0.2)]
            c = out
        for _ in range(downs):
            layers += [nn.Conv2d(c, width, 4, 2, 1), nn.GroupNorm(_groups(width), width), nn.LeakyReLU(0.2)]
            c, width = width, width * 2
        layers.append(nn.Conv2d(c, latent, base, 1, 0))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class ConvDecoder(nn.Module):
    """DCGAN generator: from (latent, 1, 1) up to (channels, size, size), tanh output in [-1, 1].

    refine > 0 ends with that many stride-1 3x3 convolutions at full resolution (the last upsampling
    then keeps half its input channels instead of going straight to `channels`)."""

    def __init__(self, size=8, channels=1, width=32, latent=32, refine=0):
        super().__init__()
        base, ups = halvings(size)
        refine = _check_refine(refine)
        c = width * 2 ** max(ups - 1, 0)
        layers = [nn.ConvTranspose2d(latent, c, base, 1, 0), nn.GroupNorm(_groups(c), c), nn.ReLU()]
        for i in range(ups):
            last = i == ups - 1 and not refine
            out = channels if last else max(c // 2, 1)
            layers.append(nn.ConvTranspose2d(c, out, 4, 2, 1))
            if not last:
                layers += [nn.GroupNorm(_groups(out), out), nn.ReLU()]
            c = out
        if ups == 0 and not refine:
            layers.append(nn.Conv2d(c, channels, 3, 1, 1))
        for i in range(refine):  # stride-1 3x3 convolutions at full resolution, the last one to `channels`
            last = i == refine - 1
            layers.append(nn.Conv2d(c, channels if last else c, 3, 1, 1))
            if not last:
                layers += [nn.GroupNorm(_groups(c), c), nn.ReLU()]
        layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z)


def check_input(model, x, shape, what):
    """Refuse inputs that are not a non-empty batch of samples shaped `shape`, of the weights' dtype,
    naming the model and what it takes."""
    name = getattr(model, "spec", {}).get("kind", type(model).__name__)
    if not isinstance(x, torch.Tensor) or x.dim() < 1 or tuple(x.shape[1:]) != shape:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise CourseError(f"this {name} takes {what} of shape (N, {', '.join(map(str, shape))}), got {got}.")
    if len(x) == 0:
        raise CourseError(f"this {name} got an empty batch of {what} (0 samples); pass at least one.")
    weight = next(model.parameters(), None)
    if weight is not None and x.dtype != weight.dtype:
        raise CourseError(f"this {name} takes {what} of dtype {weight.dtype} (the dtype of its weights), got "
                          f"{x.dtype}; convert with .to({weight.dtype})"
                          + (f", or the model with .to({x.dtype})." if x.is_floating_point() else "."))


def check_source(source, shape):
    """An IGN network's source must give z of the network's sample shape (it lives in the data's space)."""
    mean = source.get("mean") if isinstance(source, dict) and source.get("kind", "data") == "data" else None
    got = None
    try:
        got = tuple(torch.as_tensor(mean).shape) if mean is not None else shape
        fits = tuple(data.from_source(source, torch.zeros(1, *shape)).shape) == (1, *shape)
    except CourseError:
        raise
    except (AttributeError, KeyError, TypeError, ValueError, RuntimeError, IndexError):
        fits = False
    if not fits or got != shape:
        what = f"its mean has shape {got}" if mean is not None and got else f"got {str(source)[:60]!r}"
        raise CourseError(f"source does not fit this IGN network, whose samples have shape (N, "
                          f"{', '.join(map(str, shape))}): {what}. Pass None for N(0, I), data.gaussian_source(points) "
                          "of the training points, or data.image_source(kind, images) of the training images.")
    return source


class Generator(nn.Module):
    """A GAN generator: z of shape `latent_shape` -> a sample of shape `data_shape`."""

    role = "generator"

    def __init__(self, body, latent_shape, data_shape):
        super().__init__()
        self.body, self.latent_shape, self.data_shape = body, tuple(latent_shape), tuple(data_shape)

    def forward(self, z):
        check_input(self, z, self.latent_shape, "z")
        return self.body(z)


class Critic(nn.Module):
    """A GAN discriminator: a sample -> one number per sample (a logit, or an energy)."""

    role = "discriminator"

    def __init__(self, body, data_shape):
        super().__init__()
        self.body, self.data_shape = body, tuple(data_shape)

    def forward(self, x):
        check_input(self, x, self.data_shape, "samples")
        return self.body(x).reshape(len(x))


class Idempotent(nn.Module):
    """The IGN network f: R^n -> R^n, input and output of the same shape `data_shape`.

    Also serves as an autoencoder discriminator (EBGAN), whose energy is d(f(y), y).
    `source`: the distribution of its inputs z, None for N(0, I), or {"mean": [...], "std": [...]}
    for a Gaussian with that mean and standard deviation per coordinate (see `data.gaussian_source`),
    or an image source of `data.image_source` ("gaussian", "data", "frequency"). It is one of the
    network's build options, so a checkpoint stores it and `models.sample` draws from it."""

    role = "ign"

    def __init__(self, body, data_shape, source=None):
        super().__init__()
        self.body, self.data_shape = body, tuple(data_shape)
        self.latent_shape = self.data_shape
        self.source = check_source(source, self.data_shape)

    def forward(self, x):
        check_input(self, x, self.data_shape, "samples")
        return self.body(x)

    def to_source(self, eps):
        """Map standard Gaussian noise eps to this network's source distribution (eps itself if None)."""
        return data.from_source(self.source, eps)


class Classifier(nn.Module):
    """A small convolutional image classifier: `features(x)` is its penultimate layer, `forward` gives logits.

    Used by the course's quality metric (metrics.digits_quality), which compares feature statistics."""

    role = "classifier"

    def __init__(self, size=8, channels=1, width=16, feature_dim=64, classes=10):
        super().__init__()
        base, downs = halvings(size)
        self.data_shape, self.classes = (channels, size, size), classes
        layers, c = [nn.Conv2d(channels, width, 3, 1, 1), nn.GroupNorm(_groups(width), width),
                     nn.LeakyReLU(0.2)], width
        for _ in range(downs):
            layers += [nn.Conv2d(c, 2 * c, 4, 2, 1), nn.GroupNorm(_groups(2 * c), 2 * c), nn.LeakyReLU(0.2)]
            c = 2 * c
        layers += [nn.Conv2d(c, c, 3, 1, 1), nn.GroupNorm(_groups(c), c), nn.LeakyReLU(0.2),
                   nn.Flatten(), nn.Linear(c * base * base, feature_dim), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(feature_dim, classes))

    def features(self, x):
        if tuple(x.shape[1:]) != self.data_shape:
            raise CourseError(f"this classifier takes images of shape (N, {', '.join(map(str, self.data_shape))}), "
                             f"got {tuple(x.shape)}")
        return self.body(x)

    def forward(self, x):
        return self.head(self.features(x))


def _mlp_generator(latent=2, hidden=128, depth=3):
    return Generator(MLP(latent, 2, hidden, depth), (latent,), (2,))


def _mlp_discriminator(hidden=128, depth=3):
    return Critic(MLP(2, 1, hidden, depth), (2,))


def _mlp_ign(hidden=128, depth=3, source=None):
    return Idempotent(MLP(2, 2, hidden, depth), (2,), source)


def _conv_generator(size=8, channels=1, width=32, latent=32, refine=0):
    return Generator(ConvDecoder(size, channels, width, latent, refine), (latent, 1, 1),
                     (channels, size, size))


def _conv_discriminator(size=8, channels=1, width=32, refine=0):
    return Critic(ConvEncoder(size, channels, width, latent=1, refine=refine), (channels, size, size))


def _conv_ign(size=8, channels=1, width=32, latent=32, source=None):
    body = nn.Sequential(ConvEncoder(size, channels, width, latent),
                         ConvDecoder(size, channels, width, latent))
    return Idempotent(body, (channels, size, size), source)


def _conv_classifier(size=8, channels=1, width=16, feature_dim=64, classes=10):
    return Classifier(size, channels, width, feature_dim, classes)


KINDS = {
    "mlp-generator": _mlp_generator,
    "mlp-discriminator": _mlp_discriminator,
    "mlp-ign": _mlp_ign,
    "conv-generator": _conv_generator,
    "conv-discriminator": _conv_discriminator,
    "conv-ign": _conv_ign,
    "conv-classifier": _conv_classifier,
}


SIZES = {"hidden": 1, "width": 1, "latent": 1, "depth": 0, "feature_dim": 1, "channels": 1, "classes": 2, "size": 4}


def build(kind, **options):
    """Make a model of a named kind (see KINDS); the result carries `.spec` for checkpoints."""
    checks.choice("model kind", kind, KINDS)
    known = list(inspect.signature(KINDS[kind]).parameters)
    for name, value in options.items():
        checks.choice(f"option of {kind}", name, known)
        if name in SIZES:
            checks.whole(f"{kind}'s {name}", value, SIZES[name])
    model = KINDS[kind](**options)
    model.spec = {"kind": kind, "options": dict(options)}
    return model


def count_parameters(model):
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def device_of(model):
    """The device a module's (or a callable's) weights sit on; the CPU when it has none."""
    param = next(model.parameters(), None) if hasattr(model, "parameters") else None
    return param.device if param is not None else torch.device("cpu")


@contextlib.contextmanager
def evaluating(model, device=None):
    """Run a model in eval mode (no dropout), optionally moved to `device`; restore both afterwards."""
    was_training, before = model.training, device_of(model)
    try:
        yield model.eval() if device is None else model.eval().to(device)
    finally:
        model.train(was_training)
        if device is not None:
            model.to(before)


@torch.no_grad()
def sample(model, n, seed=0, z=None):
    """n samples from a GAN generator (G(z)) or an IGN network (f(z), z from the network's source)."""
    if getattr(model, "role", None) not in ("generator", "ign"):
        raise CourseError("sample() needs a GAN generator or an IGN network (built by models.build).")
    checks.whole("n", n)
    device = device_of(model)
    if z is None:
        z = data.noise(model.latent_shape, n, seed, device)
        if hasattr(model, "to_source"):
            z = model.to_source(z)
    with evaluating(model):
        return model(z.to(device))
