// The idempotence lab's front end (anywidget): draws the frames the kernel sends (views.frame) on canvases,
// and sends the learner's actions back as messages. Nothing is fetched from the network.
// The root element carries data-frames (frames drawn so far) and data-step (the model's step) for tests, and
// data-received-at / data-drawn-at (performance.now() of the last frame's arrival and drawing).

const DATA_COLOUR = "#1a9850", SAMPLE_COLOUR = "#8e44ad", PROBE_COLOUR = "#00b4ff", FIXED_COLOUR = "rgba(255,140,0,0.55)";
const LOSS_COLOURS = { loss: "#222222", rec: "#1b9e77", idem: "#d95f02", tight: "#7570b3", d_loss: "#e7298a",
  g_loss: "#66a61e", coverage: "#a6761d", denoise: "#666666" };
const LAYER_TEXT = {
  data: ["data", "the training points (green)"],
  samples: ["samples", "generated samples G(z) or f(z) of a fixed z (purple)"],
  heatmap: ["δ / D heatmap", "IGN: the energy δ(y) = d(f(y), y), its hidden discriminator (dark: low, the data should sit in dark wells); GAN: D's probability of \"real\""],
  field: ["vector field / gradients", "IGN: arrows f(x) − x, where f moves each point (scaled: the longest arrow fills its cell); GAN: the push of G's loss on each fake"],
  warp: ["warped grid", "a square grid of inputs after the generator (GAN: G(z); IGN: f(z)): where the plane is stretched or folded"],
  fixed: ["fixed points", "orange: points f keeps in place (δ < 0.05): the learnt 'manifold'; it should hug the data"],
  orbits: ["fⁿ orbits", "paths z → f(z) → f(f(z)) … of 60 z's: IGN should land on the data in one step and then stay"],
};
const EXPLAIN = {
  plane: "<b>The plane.</b> What to look at: purple samples on top of the green data. A good IGN run: samples sit on every part of the data, the data lie in dark wells of δ, the orange fixed points hug the data and little else, and orbits stop after the first step. A good GAN: D's heatmap turns flat (≈ 0.5) where fakes and data overlap. Click to probe a point (its path under f, its δ); with Draw on, click or drag to draw your own data.",
  diagram: "<b>Where each loss trains.</b> IGN applies one network f several times. rec = d(f(x), x) trains f; idem = d(f′(f(z)), f(z)) trains the inner f through a frozen outer copy f′; tight = −d(f(y), y), y = sg(f(z)) trains the outer f on a detached input. A lit box is trained by the losses of its colour.",
  losses: "<b>Losses.</b> Running means on a symmetric log scale. For IGN, tight is negative (it pushes δ up on samples); a curve that runs off to ±10⁶ or becomes NaN is a divergence, and the lab stops.",
  coverage: "<b>Coverage.</b> Modes (or regions) holding ≥ 1% of samples, the share of samples near the data, and the mean distance from a sample to the data (right axis). A good run: all modes, ≥ 80% near, distance falling.",
};

function f32(view) {
  if (!view) return null;
  if (view instanceof Float32Array) return view;
  const buffer = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);
  return new Float32Array(buffer);
}

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k === "html") node.innerHTML = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) if (child) node.appendChild(child);
  return node;
}

// colour maps: small tables interpolated linearly (magma for δ, purple-green for D, viridis for lines)
const MAGMA = [[0, 0, 4], [28, 16, 68], [79, 18, 123], [129, 37, 129], [181, 54, 122], [229, 80, 100],
  [251, 135, 97], [254, 194, 135], [252, 253, 191]];
const PRGN = [[64, 0, 75], [118, 42, 131], [153, 112, 171], [194, 165, 207], [231, 212, 232], [247, 247, 247],
  [217, 240, 211], [166, 219, 160], [90, 174, 97], [27, 120, 55], [0, 68, 27]];
const VIRIDIS = [[68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142], [31, 158, 137],
  [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37]];
function cmap(table, t) {
  t = Math.min(1, Math.max(0, t)) * (table.length - 1);
  const i = Math.min(table.length - 2, Math.floor(t)), u = t - i, a = table[i], b = table[i + 1];
  return [a[0] + (b[0] - a[0]) * u, a[1] + (b[1] - a[1]) * u, a[2] + (b[2] - a[2]) * u];
}
const css = (c, alpha = 1) => `rgba(${c[0] | 0},${c[1] | 0},${c[2] | 0},${alpha})`;

function hidpi(canvas, width, height) {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.width = width + "px";
  canvas.style.height = height + "px";
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return ctx;
}

function arrow(ctx, x0, y0, x1, y1, head) {
  const dx = x1 - x0, dy = y1 - y0, len = Math.hypot(dx, dy);
  if (len < 0.5) return;
  const ux = dx / len, uy = dy / len, h = Math.min(head, len * 0.5);
  ctx.moveTo(x0, y0); ctx.lineTo(x1, y1);
  ctx.moveTo(x1, y1); ctx.lineTo(x1 - h * ux + h * 0.5 * uy, y1 - h * uy - h * 0.5 * ux);
  ctx.moveTo(x1, y1); ctx.lineTo(x1 - h * ux - h * 0.5 * uy, y1 - h * uy + h * 0.5 * ux);
}

function niceTicks(lo, hi, count) {
  const span = hi - lo || 1, step0 = span / count, mag = Math.pow(10, Math.floor(Math.log10(step0)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) || mag * 10;
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) ticks.push(+v.toFixed(10));
  return ticks;
}

function render({ model, el: host }) {
  const root = el("div", { class: "ign-lab", "data-frames": "0", "data-step": "0" });
  host.appendChild(root);
  const send = (content) => model.send(content);
  const get = (name) => model.get(name);

  // --- toolbar -----------------------------------------------------------------------------------------
  const button = (text, title, action, cls = "") => {
    const b = el("button", { class: "ign-button " + cls, title, text, type: "button" });
    b.addEventListener("click", action);
    return b;
  };
  const play = button("▶ Play", "train continuously (off the main thread); press again to pause", () => {
    send({ action: get("playing") ? "pause" : "play" });
  }, "ign-play");
  const stepButton = button("Step", "one training update", () => send({ action: "step" }));
  const dButton = button("D step", "GAN: one discriminator update only", () => send({ action: "d_step" }));
  const gButton = button("G step", "GAN: one generator update only", () => send({ action: "g_step" }));
  const resetButton = button("Reset", "back to where this model started: its preset's checkpoint, or fresh weights from the seed",
    () => send({ action: "reset" }));
  const status = el("span", { class: "ign-status" });
  root.appendChild(el("div", { class: "ign-toolbar" }, [play, stepButton, dButton, gButton, resetButton, status]));
  const alarm = el("div", { class: "ign-alarm", role: "alert" });
  root.appendChild(alarm);

  // --- the figure: the plane (with its colour scale and legend) and the side panels -----------------------
  const PLANE = 360, BAR = 54;
  const plane = el("canvas", { class: "ign-plane", "aria-label": "the plane: data, samples and the chosen layers" });
  const bar = el("canvas", { class: "ign-colourbar", "aria-label": "colour scale of the heatmap" });
  const planeCtx = hidpi(plane, PLANE, PLANE), barCtx = hidpi(bar, BAR, PLANE);
  const planeTitle = el("div", { class: "ign-title" });
  const legend = el("div", { class: "ign-legend" });
  const layerBox = el("div", { class: "ign-layers" });
  const planeExplain = el("div", { class: "ign-explain", html: EXPLAIN.plane });
  const figLeft = el("div", { class: "ign-figure-left" }, [planeTitle,
    el("div", { class: "ign-plane-row" }, [plane, bar]), legend, layerBox, planeExplain]);

  const SIDE_W = 300, CHART_H = 130;
  const diagram = el("div", { class: "ign-diagram" });
  const lossCanvas = el("canvas", { class: "ign-chart", "aria-label": "losses over steps" });
  const coverCanvas = el("canvas", { class: "ign-chart", "aria-label": "coverage and distance to data over steps" });
  const lossCtx = hidpi(lossCanvas, SIDE_W, CHART_H), coverCtx = hidpi(coverCanvas, SIDE_W, CHART_H);
  const lossLegend = el("div", { class: "ign-legend ign-small" }), coverLegend = el("div", { class: "ign-legend ign-small" });
  const coverTitle = el("div", { class: "ign-title" });
  const side = el("div", { class: "ign-figure-side" }, [
    el("div", { class: "ign-title", text: "the model's data flow", title: EXPLAIN.diagram.replace(/<[^>]+>/g, "") }), diagram,
    el("div", { class: "ign-explain", html: EXPLAIN.diagram }),
    el("div", { class: "ign-title", text: "losses (running mean, symlog)" }), lossCanvas, lossLegend,
    el("div", { class: "ign-explain", html: EXPLAIN.losses }),
    coverTitle, coverCanvas, coverLegend, el("div", { class: "ign-explain", html: EXPLAIN.coverage })]);
  // --- experiment box (above the figure; stays until another is set up or closed) ------------------------
  const experimentBox = el("div", { class: "ign-experiment" });
  root.appendChild(experimentBox);
  root.appendChild(el("div", { class: "ign-figure" }, [figLeft, side]));
  const message = el("div", { class: "ign-message", role: "status" });
  root.appendChild(message);

  // --- controls ------------------------------------------------------------------------------------------
  const controls = el("div", { class: "ign-controls" });
  root.appendChild(controls);
  const boxes = {};  // key -> {input, error, read}
  const field = (key, label, input, title, read) => {
    const error = el("div", { class: "ign-error" });
    const wrap = el("label", { class: "ign-field", title }, [el("span", { text: label }), input, error]);
    input.dataset.key = key;
    boxes[key] = { input, error, wrap, read };
    return wrap;
  };
  const select = (options) => {
    const s = el("select");
    for (const o of options) s.appendChild(el("option", { value: o, text: o }));
    return s;
  };
  const number = (step) => el("input", { type: "text", inputmode: "decimal", size: "7", "data-step": step });
  const parse = (text) => {
    const t = String(text).trim();
    if (t === "") return t;
    const v = Number(t);
    return Number.isFinite(v) ? v : t;
  };
  const parseInt_ = (text) => { const v = parse(text); return typeof v === "number" && Number.isInteger(v) ? v : v; };
  const choices = get("choices");

  const modelSel = select(choices.models), dataSel = select(choices.datasets);
  const presetSel = select(["(choose a preset)", ...choices.presets]);
  const presetLoad = button("Load", "load (or reload) this preset", () => {
    if (presetSel.value !== "(choose a preset)") send({ action: "preset", name: presetSel.value });
  });
  const rowModel = el("div", { class: "ign-row" }, [
    field("model", "model", modelSel, "IGN: one network f; split IGN: generator G + autoencoder A; GAN: G and D",
      (i) => i.value),
    field("dataset", "data", dataSel, "the 2D data set; 'drawn' is what you draw on the plane (Draw on)", (i) => i.value),
    el("label", { class: "ign-field", title: "a shipped checkpoint or tuned settings; Load reloads it" },
      [el("span", { text: "preset" }), presetSel, presetLoad])]);
  controls.appendChild(rowModel);

  const ignRow = el("div", { class: "ign-row ign-only-ign" });
  const lambdaTips = {
    lambda_rec: "λ rec: weight of rec = d(f(x), x): real data should be fixed points (0 switches it off)",
    lambda_idem: "λ idem: weight of idem = d(f′(f(z)), f(z)): generated points should be fixed points (trains the inner f)",
    lambda_tight: "λ tight: weight of tight = −d(f(y), y), y = sg(f(z)): shrinks the set of fixed points (trains the outer f)",
  };
  for (const [key, label] of [["lambda_rec", "λ rec"], ["lambda_idem", "λ idem"], ["lambda_tight", "λ tight"]]) {
    ignRow.appendChild(field(key, label, number(0.5), lambdaTips[key], (i) => parse(i.value)));
  }
  ignRow.appendChild(field("distance", "distance", select(choices.distances), "the distance d of the three losses", (i) => i.value));
  const clampOn = el("input", { type: "checkbox" });
  ignRow.appendChild(field("clamp_on", "clamp", clampOn, "squash tight as tanh(tight / (a·rec))·a·rec (IGN only)", (i) => i.checked));
  ignRow.appendChild(field("clamp", "a", number(0.1), "the clamp's scale a (the paper's 1.5)", (i) => parse(i.value)));
  for (const key of ["clamp_on", "clamp"]) boxes[key].wrap.classList.add("ign-only-merged");  // the split IGN has no clamp
  ignRow.appendChild(field("source", "source", select(choices.sources),
    "z ~ N(data mean, data std) per coordinate ('matched') or N(0, I) ('standard')", (i) => i.value));
  ignRow.appendChild(field("lr", "lr", number(1e-4), "Adam's learning rate (0 < lr ≤ 0.1)", (i) => parse(i.value)));
  controls.appendChild(ignRow);

  const ganRow = el("div", { class: "ign-row ign-only-gan" });
  ganRow.appendChild(field("loss", "loss", select(choices.gan_losses), "G's loss: non-saturating −log D(G(z)) or minimax log(1 − D(G(z)))", (i) => i.value));
  ganRow.appendChild(field("optimiser", "optimiser", select(choices.optimisers), "Adam (betas 0.5, 0.999) or plain SGD for both players", (i) => i.value));
  ganRow.appendChild(field("lr_g", "lr G", number(1e-4), "G's learning rate", (i) => parse(i.value)));
  ganRow.appendChild(field("lr_d", "lr D", number(1e-4), "D's learning rate", (i) => parse(i.value)));
  ganRow.appendChild(field("d_steps", "D:G", number(1), "D updates per G update (1 to 20)", (i) => parseInt_(i.value)));
  ganRow.appendChild(field("latent", "noise dim", number(1), "the dimension of G's input z (1 to 16; the warped grid needs 2)", (i) => parseInt_(i.value)));
  controls.appendChild(ganRow);

  const commonRow = el("div", { class: "ign-row" });
  commonRow.appendChild(field("batch", "batch", number(1), "samples per update", (i) => parseInt_(i.value)));
  commonRow.appendChild(field("seed", "seed", number(1), "the seed of the data and of the fresh weights", (i) => parseInt_(i.value)));
  const nSlider = el("input", { type: "range", min: "1", max: "10", step: "1", class: "ign-n" });
  const nText = el("span", { class: "ign-n-text" });
  commonRow.appendChild(el("label", { class: "ign-field", title: "n: how many times f is applied in the orbits fⁿ(z) and in a probe" },
    [el("span", { text: "n (fⁿ)" }), nSlider, nText]));
  controls.appendChild(commonRow);

  for (const [key, box] of Object.entries(boxes)) {
    const commit = () => {
      let value = box.read(box.input);
      send({ action: "set", key, value });
    };
    box.input.addEventListener("change", commit);
    if (box.input.tagName === "INPUT" && box.input.type === "text") {
      box.input.addEventListener("keydown", (e) => { if (e.key === "Enter") box.input.blur(); });
    }
  }
  nSlider.addEventListener("input", () => { nText.textContent = nSlider.value; model.set("n", parseInt(nSlider.value)); model.save_changes(); });

  // layers, drawing, probe, experiments, save
  const toggles = {};
  for (const name of choices.layers) {
    const box = el("input", { type: "checkbox" });
    box.addEventListener("change", () => {
      const now = new Set(get("layers"));
      if (box.checked) now.add(name); else now.delete(name);
      model.set("layers", choices.layers.filter((l) => now.has(l)));
      model.save_changes();
      draw();
    });
    toggles[name] = box;
    layerBox.appendChild(el("label", { class: "ign-toggle", title: LAYER_TEXT[name][1] }, [box, el("span", { text: LAYER_TEXT[name][0] })]));
  }
  const drawOn = el("input", { type: "checkbox" });
  const clearDrawing = button("Clear drawing", "forget the drawn points (back to the ring)", () => send({ action: "clear_drawing" }));
  const probeX = el("input", { type: "text", size: "5", value: "1.0" }), probeY = el("input", { type: "text", size: "5", value: "1.0" });
  const probeButton = button("Probe", "show this point's orbit under f and its energy", () =>
    send({ action: "probe", x: parse(probeX.value), y: parse(probeY.value) }));
  controls.appendChild(el("div", { class: "ign-row" }, [
    el("label", { class: "ign-toggle", title: "Draw on: click or drag on the plane to add data points; the model then trains on them" },
      [drawOn, el("span", { text: "Draw your own data" })]), clearDrawing,
    el("label", { class: "ign-field", title: "or click on the plane (Draw off)" }, [el("span", { text: "probe x" }), probeX]),
    el("label", { class: "ign-field" }, [el("span", { text: "y" }), probeY]), probeButton]));
  const experimentSel = select(choices.experiments);
  const experimentButton = button("Set up", "put the lab in the state this experiment starts from", () =>
    send({ action: "experiment", name: experimentSel.value }));
  const savePath = el("input", { type: "text", size: "24", class: "ign-wide" });
  const saveButton = button("Save", `write the model as a checkpoint: a bare name goes to ${choices.saved_models}; a path must name an existing folder`,
    () => send({ action: "save", path: savePath.value }));
  controls.appendChild(el("div", { class: "ign-row" }, [
    el("label", { class: "ign-field", title: "five guided experiments; their instructions stay above while you work" },
      [el("span", { text: "experiment" }), experimentSel]), experimentButton,
    el("label", { class: "ign-field", title: saveButton.title }, [el("span", { text: "save to" }), savePath]), saveButton]));

  // --- reading the model's state into the controls ------------------------------------------------------
  function showSettings() {
    const s = get("settings"), errors = get("errors") || {};
    const gan = s.model === "GAN";
    root.classList.toggle("ign-gan", gan);
    root.classList.toggle("ign-split", s.model === "split IGN");
    dButton.disabled = gButton.disabled = !gan;
    const values = { ...s };
    if (s.weights) [values.lambda_rec, values.lambda_idem, values.lambda_tight] = s.weights;
    values.clamp_on = s.clamp !== null && s.clamp !== undefined;
    if (!values.clamp_on) values.clamp = 1.5;
    for (const [key, box] of Object.entries(boxes)) {
      const err = errors[key];
      box.error.textContent = err ? `refused: ${err} The model uses ${values[key] === undefined ? "its last value" : values[key]}.` : "";
      box.wrap.classList.toggle("ign-refused", Boolean(err));
      if (err || document.activeElement === box.input) continue;  // keep what was typed beside its error
      if (values[key] === undefined) continue;
      if (box.input.type === "checkbox") box.input.checked = Boolean(values[key]);
      else box.input.value = String(values[key]);
    }
    boxes.clamp.input.disabled = !values.clamp_on || s.model !== "IGN";
    boxes.clamp_on.input.disabled = s.model !== "IGN";
  }
  function showMessage() {
    const kind = get("message_kind");
    message.textContent = get("message");
    message.className = "ign-message ign-msg-" + kind;
  }
  function showExperiment() {
    const info = get("experiment_info") || {};
    experimentBox.innerHTML = "";
    if (!info.name) { experimentBox.style.display = "none"; return; }
    experimentBox.style.display = "";
    const close = button("×", "hide these instructions", () => send({ action: "close_experiment" }), "ign-close");
    experimentBox.appendChild(close);
    experimentBox.appendChild(el("div", { html: `<b>Experiment ${info.name}</b>` }));
    experimentBox.appendChild(el("div", { html: `<b>Do:</b> ` }, [document.createTextNode(info.what)]));
    experimentBox.appendChild(el("div", { html: `<b>Expect:</b> ` }, [document.createTextNode(info.expect)]));
  }
  function showPlaying() {
    const on = get("playing");
    play.textContent = on ? "❚❚ Pause" : "▶ Play";
    play.classList.toggle("ign-on", on);
  }
  function showPreset() {
    const p = get("preset");
    presetSel.value = p && choices.presets.includes(p) ? p : "(choose a preset)";
  }
  function showLayers() {
    const on = new Set(get("layers"));
    for (const [name, box] of Object.entries(toggles)) box.checked = on.has(name);
  }
  function showN() { nSlider.value = String(get("n")); nText.textContent = String(get("n")); }
  function showExplain() { root.classList.toggle("ign-explained", Boolean(get("explain"))); }
  savePath.value = get("save_path");

  // --- drawing a frame ----------------------------------------------------------------------------------
  let pendingPoints = [], drawing = false, scheduled = false, decoded = null, decodedFrom = null;
  const L = () => (get("frame") || {}).limit || 3;
  const toPx = (x, y) => [(x + L()) / (2 * L()) * PLANE, (L() - y) / (2 * L()) * PLANE];
  const fromPx = (px, py) => [px / PLANE * 2 * L() - L(), L() - py / PLANE * 2 * L()];

  function decode(frame) {
    if (decodedFrom === frame) return decoded;
    const d = { ...frame };
    for (const key of ["data", "samples", "heat", "field", "orbits", "warp"]) d[key] = f32(frame[key]);
    d.losses = {};
    for (const [name, c] of Object.entries(frame.losses || {})) d.losses[name] = { ...c, values: f32(c.values) };
    decoded = d; decodedFrom = frame;
    return d;
  }

  const heatCanvas = document.createElement("canvas"), fixedCanvas = document.createElement("canvas");
  function heatImages(d) {
    const n = d.heat_grid, [lo, hi] = d.heat_range, table = d.heat_kind === "energy" ? MAGMA : PRGN;
    heatCanvas.width = fixedCanvas.width = n; heatCanvas.height = fixedCanvas.height = n;
    const hc = heatCanvas.getContext("2d"), fc = fixedCanvas.getContext("2d");
    const img = hc.createImageData(n, n), fix = fc.createImageData(n, n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const v = d.heat[i * n + j], row = n - 1 - i, p = (row * n + j) * 4;
        const c = cmap(table, (v - lo) / (hi - lo));
        img.data[p] = c[0]; img.data[p + 1] = c[1]; img.data[p + 2] = c[2]; img.data[p + 3] = 255;
        if (d.fixed_level !== null && d.fixed_level !== undefined && v < d.fixed_level) {
          fix.data[p] = 255; fix.data[p + 1] = 140; fix.data[p + 2] = 0; fix.data[p + 3] = 150;
        }
      }
    }
    hc.putImageData(img, 0, 0); fc.putImageData(fix, 0, 0);
  }

  function points(ctx, xy, colour, radius, stroke) {
    if (!xy) return;
    ctx.fillStyle = colour; ctx.strokeStyle = stroke; ctx.lineWidth = 0.6;
    ctx.beginPath();
    for (let k = 0; k + 1 < xy.length; k += 2) {
      const [px, py] = toPx(xy[k], xy[k + 1]);
      if (px < -5 || py < -5 || px > PLANE + 5 || py > PLANE + 5) continue;
      ctx.moveTo(px + radius, py); ctx.arc(px, py, radius, 0, 2 * Math.PI);
    }
    ctx.fill(); if (stroke) ctx.stroke();
  }

  function drawPlane(d, layers) {
    const ctx = planeCtx;
    ctx.clearRect(0, 0, PLANE, PLANE);
    ctx.fillStyle = "#ffffff"; ctx.fillRect(0, 0, PLANE, PLANE);
    const entries = [];
    if (layers.has("heatmap") || layers.has("fixed")) heatImages(d);
    if (layers.has("heatmap")) {
      ctx.imageSmoothingEnabled = true; ctx.globalAlpha = 0.85;
      ctx.drawImage(heatCanvas, 0, 0, PLANE, PLANE); ctx.globalAlpha = 1;
    }
    // axes grid
    ctx.strokeStyle = "rgba(0,0,0,0.12)"; ctx.lineWidth = 1; ctx.beginPath();
    for (let v = -Math.floor(L()); v <= L(); v++) {
      const [px] = toPx(v, 0), [, py] = toPx(0, v);
      ctx.moveTo(px, 0); ctx.lineTo(px, PLANE); ctx.moveTo(0, py); ctx.lineTo(PLANE, py);
    }
    ctx.stroke();
    if (layers.has("fixed") && d.fixed_level !== null && d.fixed_level !== undefined) {
      ctx.imageSmoothingEnabled = false; ctx.drawImage(fixedCanvas, 0, 0, PLANE, PLANE);
      entries.push(["swatch", FIXED_COLOUR, "fixed points (δ < 0.05)"]);
    }
    if (layers.has("warp") && d.warp) {
      const [lines, per] = d.warp_shape, half = lines / 2;
      for (let l = 0; l < lines; l++) {
        ctx.strokeStyle = l < half ? css(cmap(VIRIDIS, l / (half - 1)), 0.85) : "rgba(120,120,120,0.7)";
        ctx.lineWidth = l < half ? 1.1 : 0.7; ctx.beginPath();
        for (let k = 0; k < per; k++) {
          const o = (l * per + k) * 2, [px, py] = toPx(d.warp[o], d.warp[o + 1]);
          if (k === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
        }
        ctx.stroke();
      }
      entries.push(["line", css(VIRIDIS[5]), d.kind === "GAN" ? "warped grid G(z)" : (d.kind === "IGN" ? "warped grid f(z)" : "warped grid")]);
    }
    if (layers.has("data")) { points(ctx, d.data, DATA_COLOUR, 1.8, null); entries.push(["dot", DATA_COLOUR, "data"]); }
    for (const p of pendingPoints) points(ctx, p, DATA_COLOUR, 2.5, "#fff");
    if (layers.has("orbits") && d.orbits && d.orbit_len > 1) {
      const m = d.orbit_len, count = d.orbits.length / (2 * m);
      ctx.lineWidth = 0.8; ctx.strokeStyle = "rgba(60,60,60,0.45)"; ctx.beginPath();
      for (let t = 0; t < count; t++) {
        for (let k = 0; k < m; k++) {
          const o = (t * m + k) * 2, [px, py] = toPx(d.orbits[o], d.orbits[o + 1]);
          if (k === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
        }
      }
      ctx.stroke();
      for (let k = 0; k < m; k++) {
        const colour = k === 0 ? "#9e9e9e" : css(cmap(VIRIDIS, 0.15 + 0.8 * (k - 1) / Math.max(1, m - 2)));
        const xy = new Float32Array(count * 2);
        for (let t = 0; t < count; t++) { xy[2 * t] = d.orbits[(t * m + k) * 2]; xy[2 * t + 1] = d.orbits[(t * m + k) * 2 + 1]; }
        points(ctx, xy, colour, k === 0 ? 1.6 : 2.2, null);
        const name = k === 0 ? "z" : d.kind === "IGN" ? (k === 1 ? "f(z)" : `f${["", "", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹", "¹⁰"][k]}(z)`)
          : (k === 1 ? "G(z)" : `A${k > 2 ? ["", "", "", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"][k] : ""}(G(z))`);
        entries.push(["dot", colour, `orbit: ${name}`]);
      }
    }
    if (layers.has("samples")) { points(ctx, d.samples, SAMPLE_COLOUR, 1.8, null); entries.push(["dot", SAMPLE_COLOUR, d.kind === "IGN" ? "samples f(z)" : "samples G(z)"]); }
    if (layers.has("field") && d.field) {
      const v = d.field, count = v.length / 4;
      let longest = 1e-12;
      for (let k = 0; k < count; k++) longest = Math.max(longest, Math.hypot(v[4 * k + 2], v[4 * k + 3]));
      // scaled: the longest arrow spans 0.9 of a cell of the thinned grid (IGN) or 0.5 units (GAN)
      const cell = d.kind === "GAN" ? 0.5 : (2 * L()) / (d.field_grid - 1) * 0.9, scale = cell / longest;
      ctx.strokeStyle = d.kind === "GAN" ? "#111" : "rgba(20,20,20,0.8)"; ctx.lineWidth = 1; ctx.beginPath();
      for (let k = 0; k < count; k++) {
        const [x0, y0] = toPx(v[4 * k], v[4 * k + 1]);
        const [x1, y1] = toPx(v[4 * k] + v[4 * k + 2] * scale, v[4 * k + 1] + v[4 * k + 3] * scale);
        arrow(ctx, x0, y0, x1, y1, 4);
      }
      ctx.stroke();
      entries.push(["line", "#111", d.kind === "GAN" ? `G's gradient on fakes (longest = ${longest.toPrecision(2)})`
        : `f(x) − x (longest = ${longest.toPrecision(2)})`]);
    }
    if (d.probe) {
      const path = d.probe.orbit;
      ctx.strokeStyle = PROBE_COLOUR; ctx.lineWidth = 2; ctx.beginPath();
      path.forEach(([x, y], k) => { const [px, py] = toPx(x, y); if (k === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py); });
      ctx.stroke();
      path.forEach(([x, y], k) => {
        const [px, py] = toPx(x, y);
        ctx.fillStyle = PROBE_COLOUR; ctx.strokeStyle = "#000"; ctx.lineWidth = 0.7; ctx.beginPath();
        ctx.arc(px, py, k === 0 ? 6 : 3.5, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
      });
      entries.push(["dot", PROBE_COLOUR, "probe and its path"]);
    }
    // axes labels
    ctx.fillStyle = "#333"; ctx.font = "10px sans-serif";
    for (let v = -Math.floor(L()); v <= L(); v++) {
      const [px] = toPx(v, 0), [, py] = toPx(0, v);
      ctx.fillText(String(v), px + 2, PLANE - 3); if (v !== -Math.floor(L())) ctx.fillText(String(v), 2, py - 2);
    }
    ctx.strokeStyle = "#555"; ctx.lineWidth = 1; ctx.strokeRect(0.5, 0.5, PLANE - 1, PLANE - 1);
    if (layers.has("heatmap")) entries.push(["swatch", d.heat_kind === "energy" ? "rgb(40,12,80)" : "rgb(90,174,97)",
      d.heat_kind === "energy" ? "δ heatmap (scale at right)" : "D's P(real) (scale at right)"]);
    legend.innerHTML = "";
    for (const [shape, colour, text] of entries) {
      legend.appendChild(el("span", { class: "ign-key" }, [el("i", { class: "ign-mark ign-" + shape, style: `background:${colour}` }), document.createTextNode(text)]));
    }
    drawBar(d, layers.has("heatmap"));
  }

  function drawBar(d, on) {
    const ctx = barCtx, top = 8, bottom = PLANE - 8, x = 4, w = 12;
    ctx.clearRect(0, 0, BAR, PLANE);
    if (!on) return;
    const [lo, hi] = d.heat_range, table = d.heat_kind === "energy" ? MAGMA : PRGN;
    for (let y = top; y < bottom; y++) {
      ctx.fillStyle = css(cmap(table, 1 - (y - top) / (bottom - top))); ctx.fillRect(x, y, w, 1);
    }
    ctx.strokeStyle = "#444"; ctx.strokeRect(x + 0.5, top + 0.5, w, bottom - top);
    ctx.fillStyle = "#222"; ctx.font = "10px sans-serif";
    const ticks = d.heat_kind === "energy" ? [-3, -2, -1, 0, hi] : [0, 0.25, 0.5, 0.75, 1];
    for (const t of ticks) {
      const y = bottom - (t - lo) / (hi - lo) * (bottom - top);
      ctx.fillRect(x + w, y, 3, 1);
      ctx.fillText(d.heat_kind === "energy" ? (t === hi ? "3" : `1e${t}`) : String(t), x + w + 5, y + 3);
    }
    if (d.fixed_level !== null && d.fixed_level !== undefined) {
      const y = bottom - (d.fixed_level - lo) / (hi - lo) * (bottom - top);
      ctx.fillStyle = "rgb(255,140,0)"; ctx.fillRect(x - 3, y - 1, w + 6, 2);
    }
    ctx.save(); ctx.translate(BAR - 4, PLANE / 2); ctx.rotate(-Math.PI / 2); ctx.fillStyle = "#222";
    ctx.textAlign = "center"; ctx.fillText(d.heat_kind === "energy" ? "δ(y) = d(f(y), y), log" : "D: P(real)", 0, 0); ctx.restore();
  }

  const symlog = (v) => Math.sign(v) * Math.log10(1 + Math.abs(v) / 0.1);
  function axes(ctx, W, H, pad, xlo, xhi, ylo, yhi, yticks, ylabel) {
    ctx.clearRect(0, 0, W, H); ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
    ctx.strokeStyle = "#999"; ctx.lineWidth = 1; ctx.strokeRect(pad.l + 0.5, pad.t + 0.5, W - pad.l - pad.r, H - pad.t - pad.b);
    ctx.fillStyle = "#333"; ctx.font = "9px sans-serif";
    const X = (x) => pad.l + (x - xlo) / (xhi - xlo || 1) * (W - pad.l - pad.r);
    const Y = (y) => H - pad.b - (y - ylo) / (yhi - ylo || 1) * (H - pad.t - pad.b);
    let lastY = -100;
    for (const [value, label] of [...yticks].sort((a, b) => b[0] - a[0])) {
      const y = Y(value); if (y < pad.t - 1 || y > H - pad.b + 1 || y - lastY < 10) continue;
      lastY = y;
      ctx.fillText(label, 2, y + 3); ctx.fillStyle = "rgba(0,0,0,0.08)"; ctx.fillRect(pad.l, y, W - pad.l - pad.r, 1); ctx.fillStyle = "#333";
    }
    for (const t of niceTicks(xlo, xhi, 4)) { const x = X(t); ctx.fillText(String(t), x - 8, H - 3); }
    return [X, Y];
  }

  function drawLosses(d) {
    const W = SIDE_W, H = CHART_H, pad = { l: 34, r: 6, t: 6, b: 14 };
    const names = Object.keys(d.losses);
    let xlo = Infinity, xhi = -Infinity, ylo = 0, yhi = 0.5;
    for (const name of names) {
      const c = d.losses[name];
      xlo = Math.min(xlo, c.start); xhi = Math.max(xhi, c.start + c.values.length * c.stride);
      for (const v of c.values) if (Number.isFinite(v)) { ylo = Math.min(ylo, symlog(v)); yhi = Math.max(yhi, symlog(v)); }
    }
    if (!names.length) { xlo = d.step; xhi = d.step + 100; }
    const ticks = [];
    for (let e = -1; e <= 8; e++) {
      const v = Math.pow(10, e), s = symlog(v);
      if (s <= yhi + 0.3) ticks.push([s, v >= 1000 ? `1e${e}` : String(v)]);
      if (-s >= ylo - 0.3) ticks.push([-s, v >= 1000 ? `-1e${e}` : String(-v)]);
    }
    ticks.push([0, "0"]);
    const [X, Y] = axes(lossCtx, W, H, pad, xlo, xhi, ylo - 0.1, yhi + 0.1, ticks);
    lossLegend.innerHTML = "";
    if (!names.length) { lossCtx.fillStyle = "#666"; lossCtx.fillText("no training yet: press Step or Play", 70, H / 2); }
    for (const name of names) {
      const c = d.losses[name], colour = LOSS_COLOURS[name] || "#999";
      lossCtx.strokeStyle = colour; lossCtx.lineWidth = name === "loss" ? 1.6 : 1.1; lossCtx.beginPath();
      c.values.forEach((v, k) => { const x = X(c.start + k * c.stride), y = Y(symlog(v)); if (k === 0) lossCtx.moveTo(x, y); else lossCtx.lineTo(x, y); });
      lossCtx.stroke();
      const last = c.values[c.values.length - 1];
      lossLegend.appendChild(el("span", { class: "ign-key" }, [el("i", { class: "ign-mark ign-line", style: `background:${colour}` }),
        document.createTextNode(`${name} ${Number.isFinite(last) ? last.toPrecision(3) : last}`)]));
    }
  }

  function drawCoverage(d) {
    const W = SIDE_W, H = CHART_H, pad = { l: 30, r: 30, t: 6, b: 14 }, t = d.trace;
    const steps = t.step, xlo = steps[0], xhi = Math.max(steps[steps.length - 1], xlo + 100);
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((v) => [v, `${Math.round(v * 100)}%`]);
    const [X, Y] = axes(coverCtx, W, H, pad, xlo, xhi, 0, 1.02, ticks);
    const ctx = coverCtx, dmax = Math.max(1.5, ...t.dist.filter(Number.isFinite));
    const series = [["near", "#d95f02", "share near data", (v) => v]];
    if (t.modes[0] !== null && t.of) series.push(["modes", "#222", `${d.dataset === "ring" || d.dataset === "grid" ? "modes" : "regions"} covered (of ${t.of})`, (v) => v / t.of]);
    series.push(["dist", "#1f77b4", `mean distance to data (right, 0-${dmax.toPrecision(2)})`, (v) => v / dmax]);
    coverLegend.innerHTML = "";
    for (const [key, colour, label, map] of series) {
      ctx.strokeStyle = colour; ctx.lineWidth = 1.3; ctx.beginPath();
      t[key].forEach((v, k) => { const x = X(steps[k]), y = Y(map(v)); if (k === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y); });
      ctx.stroke();
      coverLegend.appendChild(el("span", { class: "ign-key" }, [el("i", { class: "ign-mark ign-line", style: `background:${colour}` }), document.createTextNode(label)]));
    }
    ctx.fillStyle = "#1f77b4"; ctx.font = "9px sans-serif";
    ctx.fillText("0", W - pad.r + 3, H - pad.b); ctx.fillText(dmax.toPrecision(2), W - pad.r + 3, pad.t + 8);
    coverTitle.textContent = d.alarm ? "coverage: diverged, not meaningful" : `coverage: ${d.verdict}`;
    coverTitle.title = "success (the course's 2D rule): every mode or region holds >= 1% of the samples and >= 80% lie near the data";
    coverTitle.classList.toggle("ign-bad", Boolean(d.alarm) || d.verdict.startsWith("does not"));
  }

  function drawDiagram(d) {
    const w = d.weights || [0, 0, 0], terms = d.terms || {};
    const on = { rec: w[0] > 0, idem: w[1] > 0, tight: w[2] > 0 };
    const C = { rec: "#1b9e77", idem: "#d95f02", tight: "#7570b3", d: "#e7298a", g: "#66a61e" };
    const box = (x, y, label, lit, frozen, tip) => {
      const colours = lit.filter(Boolean);
      const fill = colours.length ? colours[0] : "#f2f2f2";
      return `<g><title>${tip}</title><rect x="${x}" y="${y}" width="44" height="22" rx="4" fill="${fill}" fill-opacity="${colours.length ? 0.85 : 1}"
        stroke="${colours[1] || "#555"}" stroke-width="${colours.length > 1 ? 3 : 1}" ${frozen ? 'stroke-dasharray="3 2"' : ""}/>
        <text x="${x + 22}" y="${y + 15}" text-anchor="middle" font-size="11" fill="${colours.length ? "#fff" : "#333"}">${label}</text></g>`;
    };
    const text = (x, y, s, colour = "#333", size = 10) => `<text x="${x}" y="${y}" font-size="${size}" fill="${colour}">${s}</text>`;
    const line = (x1, y1, x2, y2) => `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="#666" marker-end="url(#ign-arrow)"/>`;
    const val = (k) => (terms[k] === undefined ? "" : ` = ${Number(terms[k]).toPrecision(3)}`);
    const lossLabel = (k, x, y, formula) => text(x, y, `${on[k] ? "●" : "○"} ${k} ×${w[{ rec: 0, idem: 1, tight: 2 }[k]]}${val(k)}: ${formula}`,
      on[k] ? C[k] : "#aaa", 9.5);
    let svg;
    if (d.kind === "GAN") {
      svg = text(4, 20, "x") + line(14, 16, 160, 16) + text(4, 52, "z") + line(14, 48, 40, 48) +
        box(42, 37, "G", [C.g], false, "G: trained by g_loss through a frozen D") + line(88, 48, 110, 48) + text(112, 52, "G(z)") +
        line(140, 48, 160, 30) + box(162, 5, "D", [C.d], false, "D: trained by d_loss on x and detached G(z)") +
        box(162, 37, "D′", [], true, "a frozen D: G's loss flows through it into G, not into D's weights") +
        text(4, 84, "● d_loss trains D: real x up, fakes G(z) down (G detached)", C.d, 9.5) +
        text(4, 98, "● g_loss trains G through the frozen D′", C.g, 9.5);
    } else {
      const f = d.kind === "IGN" ? "f" : "A", g = d.kind === "IGN" ? "f" : "G";
      svg = text(4, 18, "x") + line(14, 14, 40, 14) +
        box(42, 3, f, [on.rec && C.rec], false, `rec trains ${f}`) + line(88, 14, 108, 14) + text(110, 18, `${f}(x) → rec`) +
        text(4, 52, "z") + line(14, 48, 40, 48) +
        box(42, 37, g, [on.idem && C.idem], false, `inner ${g}: trained by idem (through the frozen outer copy)`) +
        line(88, 48, 108, 48) + text(98, 40, `${g}(z)`, "#333", 9) +
        box(110, 37, f, [on.tight && C.tight], false, `outer ${f}: trained by tight on a detached input sg(${g}(z))`) +
        line(156, 48, 176, 48) + text(178, 52, `${f}(${g}(z))`) +
        box(110, 64, f + "′", [], true, `frozen copy ${f}′: idem's gradient flows through it into the inner ${g}`) +
        text(160, 78, "frozen (idem)", "#777", 9) +
        lossLabel("rec", 4, 104, `trains ${f}`) +
        lossLabel("idem", 4, 117, `trains the inner ${g} (outer ${f}′ frozen)`) +
        lossLabel("tight", 4, 130, `trains the outer ${f} (input sg(${g}(z)))`);
    }
    diagram.innerHTML = `<svg width="${SIDE_W}" height="${d.kind === "GAN" ? 104 : 136}" role="img" aria-label="data flow of the model">
      <defs><marker id="ign-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto">
      <path d="M0,0 L10,5 L0,10 z" fill="#666"/></marker></defs>${svg}</svg>`;
  }

  function draw() {
    const frame = get("frame");
    if (!frame || !frame.data) return;
    const d = decode(frame), layers = new Set(get("layers"));
    drawPlane(d, layers);
    drawLosses(d);
    drawCoverage(d);
    drawDiagram(d);
    const s = get("settings") || {};
    planeTitle.textContent = `${d.kind} on ${d.dataset}${d.checkpoint ? ` (from ${d.checkpoint})` : ""}, step ${d.step}` +
      (d.kind !== "GAN" ? `, fⁿ with n = ${d.n}` : "");
    status.textContent = `${d.kind} on ${d.dataset}, step ${d.step}` + (get("playing") ? " | playing" : " | paused") +
      (s.model && s.model !== d.kind ? " | switching…" : "");
    alarm.textContent = d.alarm || "";
    alarm.style.display = d.alarm ? "block" : "none";
    root.dataset.step = String(d.step);
  }

  function frameArrived() {
    root.dataset.receivedAt = String(Math.round(performance.now()));
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      draw();
      root.dataset.frames = String(parseInt(root.dataset.frames) + 1);
      root.dataset.drawnAt = String(Math.round(performance.now()));
    });
  }

  // --- the plane's mouse: probe, or draw your own data --------------------------------------------------
  const position = (e) => { const r = plane.getBoundingClientRect(); return fromPx(e.clientX - r.left, e.clientY - r.top); };
  let stroke = [];
  plane.addEventListener("mousedown", (e) => {
    if (!drawOn.checked) return;
    drawing = true; stroke = [...position(e)]; pendingPoints.push(stroke); draw();
  });
  plane.addEventListener("mousemove", (e) => {
    if (!drawing) return;
    const [x, y] = position(e), n = stroke.length;
    if (Math.hypot(x - stroke[n - 2], y - stroke[n - 1]) > 0.08) { stroke.push(x, y); draw(); }
  });
  const finish = () => {
    if (!drawing) return;
    drawing = false;
    const pts = [];
    for (let k = 0; k + 1 < stroke.length; k += 2) {
      const x = stroke[k], y = stroke[k + 1];
      if (Math.abs(x) <= L() && Math.abs(y) <= L()) pts.push([x, y]);
    }
    if (pts.length) send({ action: "draw", points: pts });
  };
  plane.addEventListener("mouseup", finish);
  plane.addEventListener("mouseleave", finish);
  plane.addEventListener("click", (e) => {
    if (drawOn.checked) return;
    const [x, y] = position(e);
    probeX.value = x.toFixed(2); probeY.value = y.toFixed(2);
    send({ action: "probe", x: +x.toFixed(3), y: +y.toFixed(3) });
  });
  plane.classList.toggle("ign-drawing", false);
  drawOn.addEventListener("change", () => plane.classList.toggle("ign-drawing", drawOn.checked));

  const onFrame = () => { if (pendingPoints.length && get("frame").dataset === "drawn") pendingPoints = []; frameArrived(); };
  const handlers = [["change:frame", onFrame], ["change:settings", showSettings], ["change:errors", showSettings],
    ["change:message", showMessage], ["change:message_kind", showMessage], ["change:experiment_info", showExperiment],
    ["change:playing", () => { showPlaying(); draw(); }], ["change:preset", showPreset], ["change:layers", () => { showLayers(); draw(); }],
    ["change:n", showN], ["change:explain", showExplain]];
  for (const [event, fn] of handlers) model.on(event, fn);
  showSettings(); showMessage(); showExperiment(); showPlaying(); showPreset(); showLayers(); showN(); showExplain();
  frameArrived();
  return () => { for (const [event, fn] of handlers) model.off(event, fn); };
}

export default { render };
