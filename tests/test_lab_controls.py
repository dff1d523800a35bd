"""Every control of the lab reaching every model it applies to, and refused by the others.

The controls are read from the lab's front end (lab.js): a box added there without a row here fails
`test_every_box_of_the_lab_is_tested`. For each model a box applies to, the value set must reach the training:
the next two updates equal two updates of the trainer's own Step made with the new settings (from the same
weights and batches); a box changed after training began changes the live Step exactly as a Step made afresh
with the new settings would be; a box that starts the model again gives the seed's start for the new settings.
The buttons, the probe, n, the layers and Save are checked per model on what they read and write."""
import copy
import re
from pathlib import Path

import pytest
import torch

from ign_lessons import checkpoints, data, lab, losses, presets, train
from ign_lessons.lab import session as session_module
from ign_lessons.lab import views

LAB_JS = Path(lab.__file__).parent / "lab.js"
LAMBDAS = {"lambda_rec": 0, "lambda_idem": 1, "lambda_tight": 2}
BOTH_IGNS = ("IGN", "split IGN")
# each box: the value the test sets (other than every model's default) and the models it applies to
BOXES = {
    "model": (None, lab.MODELS),  # switching model: test_the_model_box_switches_every_pair
    "dataset": ("moons", lab.MODELS),
    "seed": (7, lab.MODELS),
    "batch": (32, lab.MODELS),
    "lambda_rec": (7.0, BOTH_IGNS),
    "lambda_idem": (3.0, BOTH_IGNS),
    "lambda_tight": (0.5, BOTH_IGNS),
    "distance": ("l2", BOTH_IGNS),
    "source": (None, BOTH_IGNS),  # None: the other source than the model's default
    "lr": (3e-3, BOTH_IGNS),
    "clamp_on": (True, ("IGN",)),
    "clamp": (3.0, ("IGN",)),
    "loss": ("minimax", ("GAN",)),
    "optimiser": ("sgd", ("GAN",)),
    "lr_g": (3e-3, ("GAN",)),
    "lr_d": (2e-3, ("GAN",)),
    "d_steps": (2, ("GAN",)),
    "latent": (3, ("GAN",)),
}
APPLIES = [(model, box) for box, (_, models) in BOXES.items() if box != "model" for model in models]
REFUSED = [(model, box) for box, (_, models) in BOXES.items() for model in lab.MODELS if model not in models]


def _value(model, box):
    value = BOXES[box][0]
    if box == "source":
        return next(s for s in session_module.SOURCES if s != lab.default_settings(model)["source"])
    return value


def _expected(model, box, value):
    """The settings a box's value should give, worked out from the defaults without the lab's code."""
    s = dict(lab.default_settings(model))
    if box in LAMBDAS:
        weights = list(s["weights"])
        weights[LAMBDAS[box]] = value
        s["weights"] = tuple(weights)
    elif box == "clamp_on":
        s["clamp"] = 1.5 if value else None
    else:
        s[box] = value
    return lab.check_settings(s)


def _trainer_step(s, nets, samples, gen):
    """The trainer's own Step for settings s, on the given networks (what Play and Step must call)."""
    if s["model"] == "IGN":
        return train.IGNStep(nets[0], samples, gen, s["weights"], s["distance"], s["clamp"], "paired", s["batch"],
                             s["lr"])
    if s["model"] == "split IGN":
        return train.SplitIGNStep(*nets, samples, gen, s["weights"], s["distance"], s["batch"], s["lr"])
    g = presets.GAN_2D
    st = train.GANStep(*nets, samples, gen, s["loss"], s["batch"], s["lr_g"], s["lr_d"], g["betas"], s["d_steps"],
                       g["r1"])
    if s["optimiser"] == "sgd":
        st.opt_g = torch.optim.SGD(nets[0].parameters(), lr=s["lr_g"])
        st.opt_d = torch.optim.SGD(nets[1].parameters(), lr=s["lr_d"])
        st.optimizers = (st.opt_g, st.opt_d)
    return st


def _twin(gen):
    return torch.Generator().set_state(gen.get_state())


def _weights(nets):
    return [p.detach().clone() for net in nets for p in net.parameters()]


def _same(a, b):
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


def _hyper(step):
    """What a Step was made with: its plain attributes and its optimisers' kinds and settings."""
    plain = {k: v for k, v in vars(step).items() if v is None or isinstance(v, (int, float, str, tuple))}
    plain.pop("nets", None)
    plain.pop("optimizers", None)
    groups = [(type(opt).__name__, [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups])
              for opt in step.optimizers]
    return plain, groups


@pytest.fixture
def make_lab():
    made = []

    def make(model):
        made.append(lab.Lab(model=model))
        return made[-1]

    yield make
    for one in made:
        one.close()


def test_every_box_of_the_lab_is_tested():
    boxes = set(re.findall(r'field\("(\w+)"', LAB_JS.read_text()))
    boxes |= set(re.findall(r'\["(lambda_\w+)", "', LAB_JS.read_text()))
    assert boxes == set(BOXES), f"boxes in lab.js without a row here, or rows without a box: {boxes ^ set(BOXES)}"


@pytest.mark.parametrize("model, box", APPLIES)
def test_a_box_set_before_training_reaches_the_trainers_step(make_lab, model, box):
    the_lab = make_lab(model)
    value = _value(model, box)
    assert the_lab.set(box, value), the_lab.message
    expected = _expected(model, box, value)
    session = the_lab.session
    assert session.settings == expected and the_lab.settings == {
        k: list(v) if isinstance(v, tuple) else v for k, v in expected.items()}, "the boxes show what the model uses"
    fresh = lab.Session(settings=dict(expected))
    assert _same(_weights(session.nets), _weights(fresh.nets)), "the start is not the seed's start for these settings"
    assert torch.equal(session.real, fresh.real) and session.steps == 0
    if box == "dataset":
        assert torch.equal(session.real, data.toy2d(value, session_module.N_DATA, seed=expected["seed"]))
    nets = [copy.deepcopy(net) for net in session.nets]
    samples, gen = session._batches
    reference = _trainer_step(expected, nets, samples, _twin(gen))
    noise = torch.get_rng_state()  # z is drawn from torch's global generator, as in the trainers
    the_lab.step()
    the_lab.step()
    torch.set_rng_state(noise)
    reference()
    reference()
    assert _same(_weights(session.nets), _weights(nets)), f"{box} = {value!r} did not reach the {model}'s update"


STRUCTURAL = {"dataset", "seed", "batch", "source", "optimiser", "latent"}


@pytest.mark.parametrize("model, box", [(m, b) for m, b in APPLIES if b not in STRUCTURAL])
def test_a_box_changed_while_training_changes_the_live_step(make_lab, model, box):
    """After training began, a box changes the Step object in use (its optimiser's moments kept) exactly as a
    Step made afresh with the new settings would be; and the next update differs from one without it."""
    changed, unchanged = make_lab(model), make_lab(model)
    for one in (changed, unchanged):
        one.step()
    value = _value(model, box)
    assert changed.set(box, value) and "acts from the next step" in changed.message, changed.message
    expected = _expected(model, box, value)
    session = changed.session
    assert session.settings == expected and session.steps == 1
    made_afresh = _trainer_step(expected, [copy.deepcopy(n) for n in session.nets], *session._batches)
    assert _hyper(session.stepper) == _hyper(made_afresh)
    changed.step()
    unchanged.step()
    assert not _same(_weights(session.nets), _weights(unchanged.session.nets)), f"{box} did not act on the update"


@pytest.mark.parametrize("model, box", [(m, b) for m, b in APPLIES if b in STRUCTURAL])
def test_a_box_that_starts_again_gives_the_seeds_start(make_lab, model, box):
    the_lab = make_lab(model)
    the_lab.step()
    value = _value(model, box)
    assert the_lab.set(box, value) and "started again from step 0" in the_lab.message, the_lab.message
    fresh = lab.Session(settings=dict(_expected(model, box, value)))
    session = the_lab.session
    assert session.steps == 0 and not session.history and session.stepper.__class__ is fresh.stepper.__class__
    assert _same(_weights(session.nets), _weights(fresh.nets)) and torch.equal(session.real, fresh.real)
    assert _hyper(session.stepper) == _hyper(fresh.stepper)


@pytest.mark.parametrize("model, box", REFUSED)
def test_a_box_of_another_model_is_refused_and_changes_nothing(make_lab, model, box):
    if box == "model":
        pytest.skip("every model has the model box")
    the_lab = make_lab(model)
    the_lab.step()
    before, settings = _weights(the_lab.session.nets), dict(the_lab.session.settings)
    assert not the_lab.set(box, _value("GAN" if model != "GAN" else "IGN", box))
    assert the_lab.message_kind == "error" and box in the_lab.errors, the_lab.message
    assert f"the {model} has no" in the_lab.errors[box]
    assert the_lab.session.settings == settings and the_lab.session.steps == 1
    assert _same(before, _weights(the_lab.session.nets))


@pytest.mark.parametrize("start", lab.MODELS)
def test_the_model_box_switches_every_pair(make_lab, start):
    roles = {"IGN": ("f",), "split IGN": ("G", "A"), "GAN": ("G", "D")}
    the_lab = make_lab(start)
    for model in lab.MODELS:
        if model == start:
            continue
        assert the_lab.set("model", model), the_lab.message
        session = the_lab.session
        assert session.kind == model and tuple(session._nets) == roles[model] and session.steps == 0
        assert session.settings == lab.check_settings(lab.default_settings(model))
        fresh = lab.Session(model=model)
        assert _same(_weights(session.nets), _weights(fresh.nets))
        the_lab.step()
        assert the_lab.frame["kind"] == model and the_lab.frame["step"] == 1


@pytest.mark.parametrize("model", lab.MODELS)
def test_step_and_reset_move_every_network_of_the_model(make_lab, model):
    the_lab = make_lab(model)
    session = the_lab.session
    start = [_weights([net]) for net in session.nets]
    the_lab.step()
    assert all(not _same(w, _weights([net])) for w, net in zip(start, session.nets)), "a network was left out"
    the_lab.reset()
    assert all(_same(w, _weights([net])) for w, net in zip(start, session.nets)) and session.steps == 0


@pytest.mark.parametrize("model", lab.MODELS)
def test_d_and_g_steps_are_the_gans_alone(make_lab, model):
    the_lab = make_lab(model)
    before = _weights(the_lab.session.nets)
    if model != "GAN":
        for button in (the_lab.d_step, the_lab.g_step):
            button()
            assert the_lab.message_kind == "error" and "press Step" in the_lab.message
        assert _same(before, _weights(the_lab.session.nets)) and the_lab.session.steps == 0
        return
    G, D = the_lab.session.nets
    g, d = _weights([G]), _weights([D])
    the_lab.d_step()
    assert _same(g, _weights([G])) and not _same(d, _weights([D]))
    d = _weights([D])
    the_lab.g_step()
    assert not _same(g, _weights([G])) and _same(d, _weights([D]))
    assert the_lab.session.steps == 2 and {"d_loss", "g_loss"} <= set(the_lab.session.history)


@pytest.mark.parametrize("model", lab.MODELS)
def test_the_probe_and_n_read_the_right_network(make_lab, model):
    the_lab = make_lab(model)
    the_lab.step()
    the_lab.n = 4
    result = the_lab.probe(1.25, -0.5)
    point = torch.tensor([[1.25, -0.5]])
    session = the_lab.session
    with torch.no_grad():
        if model == "GAN":
            assert result["p_real"] == pytest.approx(float(torch.sigmoid(session.discriminator(point))))
            assert len(result["orbit"]) == 1 and the_lab.frame["orbit_len"] == 0
            return
        first = session.generator(point)  # IGN: f; split IGN: G, then the autoencoder A
        then = session.autoencoder if model == "split IGN" else session.generator
        expected = [point, first]
        for _ in range(3):
            expected.append(then(expected[-1]))
        assert len(result["orbit"]) == 5 and all(torch.allclose(a, b) for a, b in zip(result["orbit"], expected))
        delta = losses.energy(session.autoencoder, point, session.settings["distance"])
        assert result["delta"] == pytest.approx(float(delta))
    assert the_lab.frame["orbit_len"] == 5 and len(the_lab.frame["probe"]["orbit"]) == 5


@pytest.mark.parametrize("model", lab.MODELS)
def test_every_layer_draws_the_network_it_names(make_lab, model):
    """The heatmap and the field of each model: energy and displacement of f (IGN) or A (split IGN), D's
    probability and the generator's push (GAN); the warped grid of f or G where z is 2D; orbits for the IGNs."""
    the_lab = make_lab(model)
    the_lab.step()
    the_lab.layers = list(lab.widget.LAYERS)
    frame, session = the_lab.frame, the_lab.session
    grid = views._plane(views.HEAT_GRID)
    field_at = views._plane(views.FIELD_GRID)
    as_array = lambda key: torch.frombuffer(bytearray(frame[key]), dtype=torch.float32)
    with torch.no_grad():
        if model == "GAN":
            heat = torch.sigmoid(session.discriminator(grid)).reshape(-1)
            assert frame["heat_kind"] == "p_real" and frame["orbits"] is None
            assert frame["field"] is not None and frame["warp"] is not None
        else:
            A = session.autoencoder
            heat = losses.energy(A, grid, session.settings["distance"]).clamp_min(1e-12).log10().clamp(
                *views.ENERGY_RANGE)
            field = torch.cat([field_at, A(field_at) - field_at], 1).reshape(-1)
            assert frame["heat_kind"] == "energy" and torch.allclose(as_array("field"), field, atol=1e-6)
            assert frame["orbits"] is not None and (frame["warp"] is not None) == (model == "IGN")
    assert torch.allclose(as_array("heat"), heat, atol=1e-6)
    the_lab.layers = ["data", "samples"]
    the_lab.step()  # views switched off are no longer computed
    assert the_lab.frame["orbits"] is None and the_lab.frame["field"] is None


@pytest.mark.parametrize("model", lab.MODELS)
def test_save_writes_every_network_of_the_model(make_lab, model, tmp_path):
    roles = {"IGN": ("generator",), "split IGN": ("generator", "autoencoder"), "GAN": ("generator", "discriminator")}
    the_lab = make_lab(model)
    the_lab.step()
    written = the_lab.save(str(tmp_path / "mine.safetensors"))
    assert written and len(written) == len(the_lab.session.nets), the_lab.message
    for path, net, role in zip(written, the_lab.session.nets, roles[model]):
        loaded = checkpoints.load(path, map_location="cpu")
        assert _same(_weights([loaded]), _weights([net])), f"{path.name} does not hold the {model}'s {role}"
        assert checkpoints.metadata(path)["config"]["model"] == model
