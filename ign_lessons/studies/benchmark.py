"""What a training step costs on this machine, measured in one run: `python -m ign_lessons benchmark`.

Writes data/results/benchmark.json and prints its tables:
1. forms: IGN's loss in the paper listing's form (a second module refreshed with load_state_dict every
   step), the functional frozen call (the course's default, losses.ign_loss) and the stop-gradient
   form (losses.ign_loss_stopgrad), on 2D points and on the digits, as ratios to the fastest;
2. models: IGN and the GAN on the digits (the steps the trainers run, train.IGNStep and train.GANStep):
   time per step and parameters;
3. arithmetic: the floating-point operations of one digits training step (torch's flop counter, which
   counts matrix multiplies and convolutions), the rate achieved, and that rate as a share of this
   machine's matrix-multiply peak (a large float32 matmul, timed in the same run); how time and rate
   grow with the batch size and with the width, and what each knob gives: a larger batch, a wider
   network, channels-last memory, compiled networks (torch.compile), a second thread;
4. where the time goes: the share of a step's time spent in convolutions and matrix multiplies (the
   flops the rate counts) and in everything else (normalisation, activations, the optimiser), from
   the torch profiler; it explains why small 8x8 convolutions stay far from the matmul peak;
5. with `--quality` (a few minutes more): does the batch size that maximises the rate buy quality per
   wall-clock second? The GAN and IGN of 07 (studies.compare_digits) train for the same seconds at
   the course's batch and at the best batch, as step counts from the speeds measured in the run.
Timings are interleaved in rounds (each case once per round) so that load on the machine hits every
case alike, and medians over rounds are kept.
"""
import statistics
import time
import warnings

import torch
from torch.utils.flop_counter import FlopCounterMode

from .. import data, losses, models, results, runtime, train

ROUNDS, REPEATS = 5, 10
BATCHES = (32, 128, 512, 2048)
WIDTHS = (16, 32, 64, 128, 256)
QUALITY_SECONDS = 60


def _timed(cases, rounds=ROUNDS, repeats=REPEATS):
    """Median seconds per call of each case (name -> function), in interleaved rounds after a warm-up."""
    times = {name: [] for name in cases}
    for step in cases.values():
        step()
    for _ in range(rounds):
        for name, step in cases.items():
            start = time.perf_counter()
            for _ in range(repeats):
                step()
            times[name].append((time.perf_counter() - start) / repeats)
    return {name: statistics.median(t) for name, t in times.items()}


def _ign_form(loss, f, x):
    """One Adam step of f on `loss(f, x, z)`, z from f's source."""
    opt = torch.optim.Adam(f.parameters())

    def step():
        value = loss(f, x, train._source(f, x))
        opt.zero_grad()
        value.backward()
        opt.step()
    return step


def forms(batch=128):
    """name -> one IGN training step in each loss form, on 2D points and on the digits (fresh networks)."""
    cases = {}
    for label, x in (("2D", data.toy2d("ring", batch)), ("digits", data.digits(split="train")[0][:batch])):
        weights = train.ign_defaults(x)["weights"]
        f = train.default_models(x, ("ign",))[0]
        twin = losses.frozen_copy(f)
        cases[f"{label}: paper listing (copy refreshed)"] = _ign_form(
            lambda f, x, z, t=twin, w=weights: losses.ign_loss_paper_listing(f, t, x, z, w), f, x)
        cases[f"{label}: frozen functional call (default)"] = _ign_form(
            lambda f, x, z, w=weights: losses.ign_loss(f, x, z, w)[0], f, x)
        cases[f"{label}: stop-gradient"] = _ign_form(
            lambda f, x, z, w=weights: losses.ign_loss_stopgrad(f, x, z, w), f, x)
    return cases


def digit_steps(batch=128, width=32, channels_last=False, compiled=False):
    """{"IGN": step, "GAN": step} on the digits' training split: the steps the trainers run, with their
    networks (for parameter counts) under "nets"."""
    x = data.digits(split="train")[0]
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    f = train.default_models(x, ("ign",), width=width)[0]
    G, D = train.default_models(x, ("generator", "discriminator"), width=width)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
        for net in (f, G, D):
            net.to(memory_format=torch.channels_last)
    ign = train.IGNStep(f, x, gen, train.IGN_DEFAULTS["images"]["weights"], batch=batch)
    gan = train.GANStep(G, D, x, gen, batch=batch)
    if compiled:  # the steps call compiled networks; the optimisers keep the original parameters
        ign.f, gan.G, gan.D = torch.compile(f), torch.compile(G), torch.compile(D)
    return {"IGN": ign, "GAN": gan, "nets": {"IGN": (f,), "GAN": (G, D)}}


def flops(step):
    """Floating-point operations of one call of `step` (matrix multiplies and convolutions, forward and
    backward), counted by torch.utils.flop_counter."""
    with warnings.catch_warnings(), FlopCounterMode(display=False) as counter:
        # the counter's global module hooks would fire twice in compiled networks; their flops are counted once
        warnings.filterwarnings("ignore", message="Using `torch.compile")
        step()
    return counter.get_total_flops()


def matmul_peak(n=1024, rounds=ROUNDS):
    """This machine's float32 matrix-multiply rate (FLOP/s) with the current threads: an n x n product."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    seconds = _timed({"matmul": lambda: a @ b}, rounds, repeats=5)["matmul"]
    return 2 * n ** 3 / seconds


def _rate_rows(cases, peak, rounds=ROUNDS, repeats=REPEATS):
    """name -> (step, flop count) timed together; rows of ms per step, GFLOP/s and share of the peak."""
    seconds = _timed({name: step for name, (step, _) in cases.items()}, rounds, repeats)
    rate = {name: count / seconds[name] for name, (_, count) in cases.items()}
    return {name: {"ms_per_step": round(seconds[name] * 1e3, 3), "gflop_per_step": round(count / 1e9, 4),
                   "gflops": round(rate[name] / 1e9, 2), "share_of_peak": round(rate[name] / peak, 4)}
            for name, (_, count) in cases.items()}


def arithmetic(peak):
    """Rates of the digits IGN and GAN steps over batch sizes, widths and the knobs."""
    by_batch, by_width, knobs = {}, {}, {}
    for batch in BATCHES:
        steps = digit_steps(batch=batch)
        by_batch.update({f"{m} batch {batch}": (steps[m], flops(steps[m])) for m in ("IGN", "GAN")})
    for width in WIDTHS:
        steps = digit_steps(width=width)
        by_width.update({f"{m} width {width}": (steps[m], flops(steps[m])) for m in ("IGN", "GAN")})
    rows = {"batch": _rate_rows(by_batch, peak), "width": _rate_rows(by_width, peak)}
    best = max(BATCHES, key=lambda b: rows["batch"][f"IGN batch {b}"]["gflops"])
    for batch in sorted({128, best}):
        variants = {"": digit_steps(batch=batch), ", channels-last": digit_steps(batch=batch, channels_last=True),
                    ", compiled": _compiled(batch)}
        for label, steps in variants.items():
            if steps is not None:
                knobs.update({f"{m} batch {batch}{label}": (steps[m], flops(steps[m])) for m in ("IGN", "GAN")})
    rows["knobs"] = _rate_rows(knobs, peak)
    return rows, best


def _compiled(batch):
    """digit_steps with torch.compile'd networks, compiled by a first call; None where compiling fails
    (it needs a C++ compiler)."""
    try:
        steps = digit_steps(batch=batch, compiled=True)
        steps["IGN"](), steps["GAN"]()
        return steps
    except Exception as error:  # noqa: BLE001 - any failure of the compiler toolchain means "not available"
        print(f"  (torch.compile not available here: {type(error).__name__}: {str(error)[:120]})")
        return None


MATMUL_OPS = ("conv", "mm", "addmm", "bmm", "matmul", "linear")


def time_shares(step):
    """Share of one step's own CPU time in convolutions and matrix multiplies, and in the rest (torch profiler,
    after a warm-up call)."""
    step()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        step()
    heavy = total = 0.0
    for event in prof.key_averages():
        total += event.self_cpu_time_total
        name = event.key.split("::")[-1]
        if any(name.startswith(op) or op in name.split("_") for op in MATMUL_OPS):
            heavy += event.self_cpu_time_total
    return round(heavy / total, 3)


def quality_per_second(batches, seconds=QUALITY_SECONDS, seed=0):
    """The GAN and IGN of 07 trained for `seconds` of this machine's time at each batch size (a step count
    from the speed measured here), then scored: does a faster rate buy quality per second?"""
    from . import compare_digits
    images = data.digits(split="train")[0]
    rows = {}
    for model in ("gan", "ign-tight"):
        for batch in batches:
            settings = {**compare_digits.MODELS[model], "batch": batch}
            _, probe = compare_digits.make_step(settings, images, seed)
            ms = _timed({"step": probe}, rounds=3, repeats=5)["step"] * 1e3
            steps = max(10, int(seconds * 1e3 / ms))
            generator, step = compare_digits.make_step(settings, images, seed)
            train.run(step, steps, step.nets, model, progress=False)
            score, _ = compare_digits.score(generator, step)
            rows[f"{model} batch {batch}"] = {"ms_per_step": round(ms, 2), "steps": steps,
                                              "fd_over_floor": round(score["fd"] / score["floor"], 2),
                                              "classes": score["classes"]}
    return rows


def measure(quality=False):
    """Every table of the benchmark, as one JSON-ready dict (with `quality`: quality_per_second too)."""
    form_seconds = _timed(forms())
    data_of = lambda name: name.split(":")[0]
    fastest = {label: min(s for name, s in form_seconds.items() if data_of(name) == label)
               for label in ("2D", "digits")}
    form_rows = {name: {"ms_per_step": round(s * 1e3, 3), "ratio_to_fastest": round(s / fastest[data_of(name)], 2)}
                 for name, s in form_seconds.items()}
    steps = digit_steps()
    model_seconds = _timed({m: steps[m] for m in ("IGN", "GAN")})
    model_rows = {m: {"ms_per_step": round(model_seconds[m] * 1e3, 3),
                      "parameters": sum(models.count_parameters(net) for net in steps["nets"][m])}
                  for m in ("IGN", "GAN")}
    one_thread = {}
    with runtime.threads(1):
        peak = matmul_peak()
        one_thread["peak_gflops"] = round(peak / 1e9, 1)
        one_thread["rates"], one_thread["best_batch"] = arithmetic(peak)
    with runtime.threads(runtime.CORES):
        peak_all = matmul_peak()
        best = one_thread["best_batch"]
        at_best = digit_steps(batch=best)
        cases = {f"{m} batch {best}, {runtime.CORES} threads": (at_best[m], flops(at_best[m])) for m in ("IGN", "GAN")}
        all_threads = {"threads": torch.get_num_threads(), "peak_gflops": round(peak_all / 1e9, 1),
                       "rates": _rate_rows(cases, peak_all)}
    with runtime.threads(1):
        shares = {f"{m} batch {b}": time_shares(digit_steps(batch=b)[m]) for b in sorted({128, best})
                  for m in ("IGN", "GAN")}
        table = {"torch": torch.__version__, "forms": form_rows, "models": model_rows,
                 "one_thread": one_thread, "all_threads": all_threads, "matmul_time_share": shares}
        if quality:
            table["quality_per_second"] = {"seconds": QUALITY_SECONDS,
                                           "rows": quality_per_second(sorted({128, best}))}
    return table


def _rate_line(name, row):
    return (f"    {name:<34}{row['ms_per_step']:>9.2f} ms{row['gflops']:>8.2f} GFLOP/s"
            f"{row['share_of_peak']:>7.1%} of peak")


def _print(table):
    print(f"torch {table['torch']}")
    print("\n1. IGN's loss forms: ms per step and ratio to the fastest form on the same data")
    for name, row in table["forms"].items():
        print(f"  {name:<44}{row['ms_per_step']:>9.2f} ms{row['ratio_to_fastest']:>7.2f}x")
    print("\n2. the digits (batch 128, one thread): IGN and the GAN")
    for name, row in table["models"].items():
        print(f"  {name:<6}{row['ms_per_step']:>9.2f} ms per step{row['parameters']:>10,} parameters")
    one = table["one_thread"]
    print(f"\n3. arithmetic, one thread: matmul peak {one['peak_gflops']} GFLOP/s")
    for group, rows in one["rates"].items():
        print(f"  by {group}:")
        for name, row in rows.items():
            print(_rate_line(name, row))
    every = table["all_threads"]
    print(f"  {every['threads']} threads: matmul peak {every['peak_gflops']} GFLOP/s")
    for name, row in every["rates"].items():
        print(_rate_line(name, row))
    print("\n4. share of a step's time in convolutions and matrix multiplies (the rest: normalisation, "
          "activations, the optimiser)")
    for name, share in table["matmul_time_share"].items():
        print(f"  {name:<20}{share:>7.0%}")
    if "quality_per_second" in table:
        q = table["quality_per_second"]
        print(f"\n5. quality per wall-clock second: {q['seconds']} s of training at each batch size")
        for name, row in q["rows"].items():
            print(f"  {name:<22}{row['ms_per_step']:>8.1f} ms/step {row['steps']:>6} steps   "
                  f"FD {row['fd_over_floor']:>5.2f}x floor, {row['classes']} classes")
    if "lab" in table:
        print("\n6. the idempotence lab (08), kernel side (the browser test measures what reaches the screen)")
        _print_lab(table["lab"])


def _print_lab(rows):
    for kind, row in rows.items():
        print(f"  {kind:9s}  Step + its frame {row['step_seconds'] * 1000:.0f} ms   "
              f"Play {row['frames_per_second']:.1f} frames/s (target 20), "
              f"{row['steps_per_second']} steps/s (target 100 for IGN)")


def lab(seconds=2.0, repeats=10):
    """Kernel-side cost of the lab (ign_lessons.lab): per model, "step_seconds", the median over `repeats` of
    one Step with the computation of its frame (views.frame), and, while Play runs in its thread for
    `seconds`, the frames sent and the training steps per second. Frames are drawn by the browser: the
    browser test (tests/test_lab_browser.py) measures what reaches the screen."""
    import statistics

    from ..lab import Lab, default_settings
    from ..lab import views as lab_views
    rows = {}
    for kind in ("IGN", "split IGN", "GAN"):
        widget = Lab(default_settings(kind))
        session = widget.session
        session.step(20)
        timings = []
        for _ in range(repeats):
            start = time.perf_counter()
            session.step()
            lab_views.frame(session, 3, None)
            timings.append(time.perf_counter() - start)
        sent, trained = widget.frames_sent, session.steps
        start = time.perf_counter()
        widget.play()
        time.sleep(seconds)
        widget.pause()
        elapsed = time.perf_counter() - start
        rows[kind] = {"step_seconds": round(statistics.median(timings), 4),
                      "frames_per_second": round((widget.frames_sent - sent) / elapsed, 1),
                      "steps_per_second": round((session.steps - trained) / elapsed)}
        widget.close()
    return rows


def main(lab=None, quality=False):
    """Measure, print, and write data/results/benchmark.json (with the lab's numbers when given)."""
    table = measure(quality)
    if lab is not None:
        table["lab"] = lab
    _print(table)
    target = results.save(results.path("benchmark"), table,
                          {"rounds": ROUNDS, "repeats": REPEATS, "batches": BATCHES, "widths": WIDTHS})
    print(f"\nwrote {target}")
    return table
