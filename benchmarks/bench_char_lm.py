"""Character-level language models: quality on real text, and speed, next to PyTorch.

    python benchmarks/bench_char_lm.py                  # everything (about 30-40 minutes)
    python benchmarks/bench_char_lm.py --quick          # smoke run, under a minute
    python benchmarks/bench_char_lm.py --only names --cells rnn
    python benchmarks/bench_char_lm.py --only shakespeare --steps 980 --threads 2

Three parts, each printing its figures; a table of every bar ends the run. The
exit status is 1 when a bar fails, 0 otherwise, and 0 with a message when the
data (``../shared/data`` beside the checkout, or ``$SKRNN_DATA``) are missing.

names.txt, makemore's protocol
    32,033 names, one per line. The test set is 1,000 names: the last 1,000 of
    ``torch.randperm`` seeded 3407, which is makemore's split (without torch, a
    NumPy permutation, and the script says so). ``RNNCharGenerator`` is fitted
    on the other names through its public API, with early stopping on 5% of
    them (never on the test names), and the test loss is ``-score(test)``: nats
    per character, the end of each name counted, as makemore counts it. Fit
    time is wall time on ``--threads`` (default 2, the bar's two cores). A
    counted bigram model (add-one smoothing) is printed for context. Settings:
    the estimator's defaults (H=128, Adam lr 0.002, 32 lanes) with early
    stopping (``n_iter_no_change=5``) and ``max_iter=40``, which early stopping
    never reaches; each fit prints its parameters and which differ from the
    defaults. At H=128 with 32 lanes the core runs the fit on one BLAS thread
    whatever ``--threads`` says (``recurrent.loop_threads``); at larger sizes,
    on a machine loaded by other jobs, pass ``--threads 1``: a two-thread BLAS
    sharing its cores with other processes slows down many times over.
    Bars: vanilla RNN <= 2.10 within 10 minutes; GRU and LSTM <= 2.00 within 15.

tinyshakespeare.txt, side by side with torch
    The first 90% of the characters train, the last 10% validate. Both models
    are the same function: one-hot input into one recurrent layer of H units
    (``nn.RNN``/``nn.LSTM`` fed ``F.one_hot``; skrnn's ``W_xh`` row lookup is
    that product), a linear head, softmax cross-entropy, Adam with the same
    learning rate, the global gradient norm clipped to 5, and the hidden state
    carried across chunks (detached) and reset where a segment starts. "Same
    steps, same batches" is exact: the batches are made once by skrnn's own
    machinery (``_segments`` and ``_ticks``, as ``fit`` makes them) and both
    loops read that list, skrnn through ``_training.train_step`` (the function
    ``fit`` calls), torch through its usual loop. Each library starts from its
    own default initialisation: skrnn's is fit's (``init_params``, then the
    output bias at the training characters' centred log-frequencies,
    ``_prior_bias``), torch's its modules' defaults (head bias near zero).
    ``--same-init`` copies torch's initial weights into skrnn, to tell
    initialisation from implementation. The two steps run
    interleaved, each timed alone, so load from other processes hits both
    alike; both are pinned to ``--threads`` (default 1). Validation reads the
    whole held-out tail as one stream from a zero state: skrnn through
    ``RNNCharGenerator.score``, torch with its state carried across chunks.
    Bars: skrnn's validation loss within 0.03 of torch's; skrnn's total step
    time no more than torch's for the RNN, and at least 0.8x torch's speed for
    the LSTM (``SPEED_BARS``: the bar ``bench_core.py`` sets for an LSTM of
    this size, torch's being a fused oneDNN kernel).

Generation speed
    ``RNNCharGenerator.generate(n_chars=2000, temperature=1.0)`` at H=256 with
    random weights, against a torch sampling loop of the same weights (one-hot
    -> module step with carried state -> linear -> softmax ->
    ``torch.multinomial``, under ``torch.inference_mode``). The end-of-text
    logit is pushed down in both so that every run makes all 2,000 characters.
    Median of interleaved runs, 1 thread. Bar: skrnn >= 5x torch, every cell.
"""

import argparse
import os
import string
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from _common import data_file, median_seconds, pinned_threads
from skrnn import RNNCharGenerator
from skrnn._core.network import NetworkSpec, init_params
from skrnn._generator import _prior_bias, _reset_rows, _segments, _step_weights, _ticks
from skrnn._training import make_optimizer, train_step

try:
    import torch
except ImportError:  # the `bench` extra is not installed
    torch = None
if torch is not None:
    import torch.nn.functional as F
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

CELLS = ("rnn", "gru", "lstm")
TORCH_MODULES = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM"}

# names.txt: the settings each cell is fitted with, and its bar (loss, seconds). The
# estimator's defaults (H=128, Adam lr 0.002, 32 lanes of 64 steps) otherwise; early
# stopping ends every cell's fit well before max_iter (15 epochs for rnn and gru).
NAMES_SETUP = {cell: dict(max_iter=40) for cell in CELLS}
# Early stopping on 5% of the training names (never the test names), keeping the best weights.
NAMES_STOPPING = dict(early_stopping=True, validation_fraction=0.05, n_iter_no_change=5)
NAMES_BARS = {"rnn": (2.10, 600), "gru": (2.00, 900), "lstm": (2.00, 900)}
NAMES_QUICK = dict(hidden_size=32, learning_rate=0.005, batch_size=32, max_iter=2)
MAKEMORE_SEED, TEST_NAMES = 3407, 1000

SHAKESPEARE = dict(hidden_size=128, seq_length=64, batch_size=32, learning_rate=0.002)
SHAKESPEARE_QUICK = dict(SHAKESPEARE, hidden_size=32)
LOSS_GAP, CLIP = 0.03, 5.0
# Step-time bars, as torch's total step time over skrnn's. RNN: no slower than
# torch (issue 5). LSTM: 0.8, the bar bench_core.py sets for the LSTM at this
# very configuration (H=128, 32 x 64), since torch's CPU LSTM is a fused oneDNN
# kernel; asking for 1.0 here would contradict it. GRU: printed, no bar.
SPEED_BARS = {"rnn": 1.0, "lstm": 0.8}

GEN_SIZE, GEN_CHARS, GEN_BAR = 256, 2000, 5.0


# -- shared pieces -------------------------------------------------------------


def load_average():
    return "%.2f %.2f %.2f" % os.getloadavg()


def encode(text, alphabet):
    """The stream ``[END, c1, ..., cn, END]`` of ids, as RNNCharGenerator builds it."""
    table = np.zeros(max(map(ord, alphabet)) + 1, dtype=np.int32)
    table[[ord(c) for c in alphabet]] = np.arange(1, len(alphabet) + 1)
    codes = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
    return np.concatenate([[0], table[codes], [0]]).astype(np.int32)


def char_model(alphabet, params, **kwargs):
    """A fitted RNNCharGenerator over ``alphabet`` that holds ``params``.

    Fitting on the alphabet itself sets every fitted attribute the way fit
    does; the trained (or random) weights then replace the fitted ones.
    """
    model = RNNCharGenerator(max_iter=1, random_state=0, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit("".join(alphabet))
    assert list(model.classes_[1:]) == list(alphabet)
    assert {k: v.shape for k, v in model.weights_.items()} == {k: v.shape for k, v in params.items()}
    model.weights_ = params
    return model


def skrnn_init(spec, stream, seed=0):
    """skrnn's initial parameters for training on ``stream``, as ``RNNCharGenerator.fit`` makes them."""
    params = init_params(spec, np.random.default_rng(seed))
    params["b_y"][...] = _prior_bias([stream], spec.n_outputs, params["b_y"].dtype)
    return params


def torch_model(cell, V, H, seed=0):
    """(recurrent module, linear head): the torch peer of skrnn's network."""
    torch.manual_seed(seed)
    return getattr(torch.nn, TORCH_MODULES[cell])(V, H), torch.nn.Linear(H, V)


def torch_to_skrnn(cell, rnn, head):
    """skrnn parameters equal to the torch modules' (gate layouts already match)."""
    get = {k: v.detach().numpy().astype(np.float32) for k, v in rnn.named_parameters()}
    H = rnn.hidden_size
    b = get["bias_ih_l0"] + get["bias_hh_l0"]
    params = {"layer0.W_xh": get["weight_ih_l0"].T.copy(), "layer0.W_hh": get["weight_hh_l0"].T.copy()}
    if cell == "gru":  # b_hn sits inside the reset product: it cannot be folded into b
        b[2 * H :] = get["bias_ih_l0"][2 * H :]
        params["layer0.b_hn"] = get["bias_hh_l0"][2 * H :].copy()
    params["layer0.b"] = b
    params["W_hy"] = head.weight.detach().numpy().T.copy()
    params["b_y"] = head.bias.detach().numpy().copy()
    return params


def skrnn_to_torch(cell, params, rnn, head):
    """Copy skrnn parameters into the torch modules."""
    H = rnn.hidden_size
    bias_hh = np.zeros_like(params["layer0.b"])
    if cell == "gru":
        bias_hh[2 * H :] = params["layer0.b_hn"]
    values = {
        "weight_ih_l0": params["layer0.W_xh"].T, "weight_hh_l0": params["layer0.W_hh"].T,
        "bias_ih_l0": params["layer0.b"], "bias_hh_l0": bias_hh,
    }
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            p.copy_(torch.from_numpy(np.ascontiguousarray(values[name])))
        head.weight.copy_(torch.from_numpy(np.ascontiguousarray(params["W_hy"].T)))
        head.bias.copy_(torch.from_numpy(params["b_y"]))


# -- names.txt -------------------------------------------------------------------


def makemore_split(names):
    """(train, test, how): makemore's split, the last 1,000 of a seeded permutation."""
    n_test = min(TEST_NAMES, int(len(names) * 0.1))
    if torch is not None:
        order = torch.randperm(len(names), generator=torch.Generator().manual_seed(MAKEMORE_SEED)).tolist()
        how = "torch.randperm seeded 3407 (makemore's split)"
    else:
        order = np.random.default_rng(MAKEMORE_SEED).permutation(len(names)).tolist()
        how = "NumPy permutation seeded 3407: torch is absent, so this is NOT makemore's split"
    return [names[i] for i in order[:-n_test]], [names[i] for i in order[-n_test:]], how


def bigram_loss(train, test):
    """Test nats per character of a counted bigram model with add-one smoothing."""
    alphabet = sorted(set("".join(train + test)))
    V = len(alphabet) + 1
    counts = np.ones((V, V))
    streams = [encode(w, alphabet) for w in train]
    np.add.at(counts, (np.concatenate([s[:-1] for s in streams]), np.concatenate([s[1:] for s in streams])), 1)
    log_p = np.log(counts / counts.sum(axis=1, keepdims=True))
    test_streams = [encode(w, alphabet) for w in test]
    prev, nxt = np.concatenate([s[:-1] for s in test_streams]), np.concatenate([s[1:] for s in test_streams])
    return -log_p[prev, nxt].mean()


def run_names(cells, quick, threads):
    path = data_file("names.txt")
    if path is None:
        print("names.txt not found: skipped")
        return []
    names = path.read_text(encoding="utf-8").split("\n")
    train, test, how = makemore_split(names)
    if quick:
        train = train[:3000]
    print(f"\n== names.txt: {len(names):,} names, {len(train):,} train / {len(test):,} test; split by {how}")
    print(f"bigram baseline (add-one smoothing): test loss {bigram_loss(train, test):.4f} nats/char; "
          "makemore's transformer: about 1.92")
    rows = []
    for cell in cells:
        setup = dict(NAMES_QUICK if quick else NAMES_SETUP[cell])
        setup = dict(cell=cell, **setup, **NAMES_STOPPING, random_state=0)
        model = RNNCharGenerator(**setup)
        defaults = RNNCharGenerator().get_params()
        changed = [k for k, v in setup.items() if k != "random_state" and defaults[k] != v]
        print(f"{cell}: fitting RNNCharGenerator({', '.join(f'{k}={v!r}' for k, v in setup.items())}) on "
              f"{threads} thread(s); not the defaults: {', '.join(changed) or 'none'}; load {load_average()}",
              flush=True)
        with pinned_threads(threads), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            model.fit(train)
            seconds = time.perf_counter() - start
            loss = -model.score(test)
        samples = [model.generate(n_chars=30, random_state=i) for i in range(6)]
        print(f"{cell}: test loss {loss:.4f} nats/char after {model.n_iter_} epochs, {seconds:.0f} s; "
              f"samples: {', '.join(samples)}")
        bar_loss, bar_seconds = NAMES_BARS[cell]
        ok = loss <= bar_loss and seconds <= bar_seconds
        rows.append((f"names {cell}: test loss, fit time", f"{loss:.4f}, {seconds:.0f} s",
                     f"<= {bar_loss:.2f} in {bar_seconds} s", None if quick else ok))
    return rows


# -- tinyshakespeare.txt ---------------------------------------------------------


def one_pass(stream, setup):
    """The batches of one pass over one document, as fit makes them."""
    lanes = _segments([stream], setup["batch_size"], setup["seq_length"])
    return list(_ticks([stream], lanes, setup["seq_length"]))


class SkrnnLoop:
    """skrnn's side: what ``RNNCharGenerator.fit`` does with each batch."""

    def __init__(self, spec, params, setup):
        self.spec, self.params = spec, params
        self.optimizer = make_optimizer("adam", params, learning_rate=setup["learning_rate"])
        self.states = None

    def step(self, X, targets, lengths, starts):
        weights = _step_weights(lengths, X.shape[1], np.float32)
        state0 = None if self.states is None else _reset_rows(self.states, starts)
        loss, self.states = train_step(
            self.params, self.spec, self.optimizer, X, lengths, targets, weights, state0, clip_norm=CLIP,
        )
        return loss


class TorchLoop:
    """torch's side: one-hot input, carried detached state reset at segment starts."""

    def __init__(self, cell, rnn, head, setup):
        self.rnn, self.head, self.lstm = rnn, head, cell == "lstm"
        self.V = head.out_features
        self.params = list(rnn.parameters()) + list(head.parameters())
        self.optimizer = torch.optim.Adam(self.params, lr=setup["learning_rate"])
        self.state = None

    def _carried(self, starts):
        if self.state is None:
            return None
        keep = torch.from_numpy(~starts).to(torch.float32)[None, :, None]  # (1, N, 1)
        state = tuple(s * keep for s in self.state)
        return state if self.lstm else state[0]

    def step(self, X, targets, lengths, starts):
        T = X.shape[1]
        inp = F.one_hot(torch.from_numpy(X.T).long(), self.V).float()  # (T, N, V)
        hx = self._carried(starts)
        if (lengths == T).all():
            out, state = self.rnn(inp, hx)
        else:  # ragged last chunk: pack, so the carried state is each row's last real step
            packed = pack_padded_sequence(inp, torch.from_numpy(np.maximum(lengths, 1)), enforce_sorted=False)
            out, state = self.rnn(packed, hx)
            out, _ = pad_packed_sequence(out, total_length=T)
        real = torch.from_numpy(np.arange(T)[:, None] < lengths[None, :])  # (T, N)
        logits = self.head(out)
        loss = F.cross_entropy(logits[real], torch.from_numpy(targets).long()[real])
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, CLIP)
        self.optimizer.step()
        self.state = tuple(s.detach() for s in (state if self.lstm else (state,)))
        return loss.item()


def torch_stream_loss(rnn, head, stream, chunk=8192):
    """Mean nats per predicted character of one stream, state carried from zero."""
    total, state = 0.0, None
    with torch.inference_mode():
        for a in range(0, len(stream) - 1, chunk):
            x = torch.from_numpy(stream[a : a + chunk]).long()
            y = torch.from_numpy(stream[a + 1 : a + chunk + 1]).long()
            x = x[: len(y)]
            out, state = rnn(F.one_hot(x, head.out_features).float()[:, None, :], state)
            total += float(F.cross_entropy(head(out[:, 0]), y, reduction="sum"))
    return total / (len(stream) - 1)


def run_shakespeare(cells, quick, threads, steps, same_init):
    path = data_file("tinyshakespeare.txt")
    if path is None:
        print("tinyshakespeare.txt not found: skipped")
        return []
    text = path.read_text(encoding="utf-8")
    cut = int(len(text) * 0.9)
    train_text, valid_text = text[:cut], text[cut:]
    alphabet = sorted(set(text))
    setup = SHAKESPEARE_QUICK if quick else SHAKESPEARE
    rows = []
    for cell in cells:
        rows += shakespeare_cell(cell, alphabet, train_text, valid_text, setup, steps, quick, threads, same_init)
    return rows


def shakespeare_cell(cell, alphabet, train_text, valid_text, setup, steps, quick, threads, same_init):
    V, H = len(alphabet) + 1, setup["hidden_size"]
    stream = encode(train_text, alphabet)
    batches = one_pass(stream, setup)
    per_pass = len(batches)
    steps = steps or (20 if quick else per_pass)
    batches = (batches * -(-steps // per_pass))[:steps]  # further passes repeat the first
    spec = NetworkSpec(n_inputs=V, n_outputs=V, hidden_size=H, cell=cell)
    have_torch = torch is not None
    if have_torch:
        rnn, head = torch_model(cell, V, H)
    params = torch_to_skrnn(cell, rnn, head) if same_init else skrnn_init(spec, stream)
    print(f"\n== tinyshakespeare.txt, {cell}: H={H}, V={V}, {len(train_text):,} train / {len(valid_text):,} "
          f"validation characters; {steps} steps of {setup['batch_size']}x{setup['seq_length']} "
          f"({steps / per_pass:.2f} passes), Adam lr={setup['learning_rate']}, clip {CLIP}, "
          f"{'torch init in both' if same_init else 'each library its own init'}; {threads} thread(s); "
          f"load {load_average()}", flush=True)
    loops = [SkrnnLoop(spec, params, setup)]
    if have_torch:
        loops.append(TorchLoop(cell, rnn, head, setup))
    seconds, losses = [0.0] * len(loops), [[] for _ in loops]
    with pinned_threads(threads):
        for i, (X, targets, lengths, starts, _) in enumerate(batches):
            for k, loop in enumerate(loops):
                start = time.perf_counter()
                loss = loop.step(X, targets, lengths, starts)
                seconds[k] += time.perf_counter() - start
                losses[k].append(loss)
            if (i + 1) % max(1, len(batches) // 5) == 0:
                running = " / ".join(f"{np.mean(l[-50:]):.4f}" for l in losses)
                print(f"  step {i + 1}: training loss (last 50) skrnn{' / torch' * have_torch} {running}", flush=True)
        model = char_model(alphabet, params, hidden_size=H, cell=cell)
        valid = [-model.score(valid_text)]
        if have_torch:
            valid.append(torch_stream_loss(rnn, head, encode(valid_text, alphabet)))
    print(f"{cell}: validation loss skrnn {valid[0]:.4f}"
          + (f", torch {valid[1]:.4f} (gap {valid[0] - valid[1]:+.4f})" if have_torch else ", torch absent")
          + f"; step time skrnn {seconds[0]:.1f} s" + (f", torch {seconds[1]:.1f} s" if have_torch else ""))
    if not have_torch:
        return [(f"shakespeare {cell}: validation loss", f"skrnn {valid[0]:.4f}", "torch absent", None)]
    check = None if quick else True
    speed, speed_bar = seconds[1] / seconds[0], SPEED_BARS.get(cell)
    return [
        (f"shakespeare {cell}: validation loss", f"skrnn {valid[0]:.4f}, torch {valid[1]:.4f}",
         f"skrnn <= torch + {LOSS_GAP}", check and valid[0] <= valid[1] + LOSS_GAP),
        (f"shakespeare {cell}: {steps} steps wall",
         f"skrnn {seconds[0]:.1f} s, torch {seconds[1]:.1f} s ({speed:.2f}x)",
         f"torch / skrnn >= {speed_bar}" if speed_bar else "no bar",
         (check and speed >= speed_bar) if speed_bar else None),
    ]


# -- generation -----------------------------------------------------------------


def torch_generate(rnn, head, classes, n_chars, temperature=1.0, seed=0):
    """The torch sampling loop: the same work per character as ``generate``."""
    gen = torch.Generator().manual_seed(seed)
    eye = torch.eye(head.out_features)
    out, state, token = [], None, 0
    with torch.inference_mode():
        for _ in range(n_chars):
            h, state = rnn(eye[token].view(1, 1, -1), state)
            probs = torch.softmax(head(h[0, 0]) / temperature, dim=0)
            token = int(torch.multinomial(probs, 1, generator=gen))
            if token == 0:
                break
            out.append(classes[token])
    return "".join(out)


def run_generation(cells, quick, threads, repeats):
    path = data_file("tinyshakespeare.txt")
    text = path.read_text(encoding="utf-8") if path is not None else string.printable
    alphabet = sorted(set(text))
    V, H = len(alphabet) + 1, GEN_SIZE
    n_chars = 200 if quick else GEN_CHARS
    print(f"\n== generation: H={H}, V={V}, {n_chars} characters per call, temperature 1, random weights, "
          f"median of {repeats}; {threads} thread(s); load {load_average()}", flush=True)
    rows = []
    for cell in cells:
        spec = NetworkSpec(n_inputs=V, n_outputs=V, hidden_size=H, cell=cell)
        params = init_params(spec, np.random.default_rng(0))
        params["b_y"][0] = -30.0  # END: never sampled, so every call makes n_chars characters
        model = char_model(alphabet, params, hidden_size=H, cell=cell)
        fns = [lambda: model.generate(n_chars=n_chars, temperature=1.0, random_state=0)]
        if torch is not None:
            rnn, head = torch_model(cell, V, H)
            skrnn_to_torch(cell, params, rnn, head)
            fns.append(lambda: torch_generate(rnn, head, model.classes_, n_chars))
        with pinned_threads(threads):
            assert all(len(fn()) == n_chars for fn in fns)
            rates = [n_chars / s for s in median_seconds(fns, repeats)]
        if torch is None:
            print(f"{cell}: skrnn {rates[0]:,.0f} chars/s; torch absent")
            rows.append((f"generation {cell} H={H}", f"skrnn {rates[0]:,.0f} chars/s", "torch absent", None))
            continue
        ratio = rates[0] / rates[1]
        print(f"{cell}: skrnn {rates[0]:,.0f} chars/s, torch {rates[1]:,.0f} chars/s, ratio {ratio:.1f}x")
        rows.append((f"generation {cell} H={H}", f"skrnn {rates[0]:,.0f}, torch {rates[1]:,.0f} chars/s "
                     f"({ratio:.1f}x)", f">= {GEN_BAR:.0f}x torch", None if quick else ratio >= GEN_BAR))
    return rows


# -- driver -------------------------------------------------------------------


def print_table(rows):
    print(f"\n== summary ({'quick run: bars not checked; ' if rows and all(r[3] is None for r in rows) else ''}"
          f"load average {load_average()})")
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for what, value, bar, ok in rows:
        verdict = "-" if ok is None else ("PASS" if ok else "FAIL")
        print(f"{what:{widths[0]}}  {value:{widths[1]}}  {bar:{widths[2]}}  {verdict}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run, bars not checked")
    parser.add_argument("--only", choices=["names", "shakespeare", "generation"], action="append",
                        help="run only this part (repeatable)")
    parser.add_argument("--cells", nargs="+", choices=CELLS,
                        help="cells for every part (default: names and generation all three, "
                             "shakespeare rnn and lstm)")
    parser.add_argument("--threads", type=int,
                        help="threads for BLAS and torch (default: 2 for names, 1 for the torch comparisons)")
    parser.add_argument("--steps", type=int, help="shakespeare training steps (default: one pass)")
    parser.add_argument("--same-init", action="store_true", help="shakespeare: start skrnn from torch's weights")
    parser.add_argument("--repeats", type=int, default=7, help="generation runs per library (median)")
    args = parser.parse_args(argv)
    parts = args.only or ["names", "shakespeare", "generation"]
    if args.same_init and torch is None:
        parser.error("--same-init needs torch")
    if data_file("names.txt") is None and data_file("tinyshakespeare.txt") is None:
        print("Benchmark data not found: put names.txt and tinyshakespeare.txt in ../shared/data beside the "
              "checkout, or set SKRNN_DATA to their folder.")
        return 0
    print(f"skrnn char-LM benchmark; torch {torch.__version__ if torch is not None else 'absent'}; "
          f"{os.cpu_count()} CPUs; load average {load_average()}")
    rows = []
    if "names" in parts:
        rows += run_names(args.cells or CELLS, args.quick, args.threads or 2)
    if "shakespeare" in parts:
        rows += run_shakespeare(args.cells or ("rnn", "lstm"), args.quick, args.threads or 1, args.steps,
                                args.same_init)
    if "generation" in parts:
        rows += run_generation(args.cells or CELLS, args.quick, args.threads or 1, 3 if args.quick else args.repeats)
    if rows:
        print_table(rows)
    return 1 if any(ok is False for *_, ok in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
