"""Training and generation throughput of the NumPy core, side by side with PyTorch.

One training step is what a fit does per minibatch: forward, masked softmax
cross-entropy, backward, Adam update. The configuration is a character-level
language model: vocabulary V=65, batch N=32, T=64 steps, float32, hidden sizes
H in {64, 128, 256, 512}, one layer, ``pooling=None``.

    python benchmarks/bench_core.py                 # everything, 1 BLAS thread
    python benchmarks/bench_core.py --quick --cells rnn --sizes 64 128
    python benchmarks/bench_core.py --threads 2     # both cores, both libraries

Threads: torch always gets as many as NumPy's BLAS is given. The default is
one: figures on a shared machine are steadier, and it is what skrnn itself
uses up to H=128 whatever it is allowed (``recurrent.loop_threads``: a
two-thread BLAS collapses when another job holds the second core). With
``--threads 2`` torch spreads every step over both cores while skrnn keeps
steps up to H=128 on one, and the ratios drop accordingly (see
``results/core.txt``).

Columns
-------
skrnn tok/s, torch tok/s  N*T / median step time (medians of ``--repeats``
                          measurements, skrnn and torch interleaved A,B,A,B so
                          that load from other processes hits both alike)
ratio                     skrnn / torch (higher is better for skrnn); the bars
                          apply to it
range                     lowest and highest of the per-round ratios (round r
                          of skrnn over round r of torch, measured back to
                          back): how far load on a shared machine moves the
                          ratio within this one run
bare                      RNN rows: a hand-written NumPy step for this one
                          configuration (``BareRNNStep``: same math, no
                          generality) over torch: what a minimal NumPy
                          program reaches, so bare - ratio is what skrnn's
                          masks, cell interface and checks cost
ceiling                   torch's step time over that of the step's matrix
                          products alone (``BlasFloor``: the same products,
                          shapes and BLAS threads, nothing else): the highest
                          ratio any NumPy design could reach on this machine
%GEMM                     skrnn tok/s over this machine's GEMM bound:
                          measured float32 GEMM flop/s divided by the flops of
                          a token, 6 * (G*H*H + H*V) (a multiply-add is 2 flops;
                          the backward pass does two products per forward one;
                          G is 1, 3, 4 gates for RNN, GRU, LSTM; the token-input
                          projection is a row lookup and does no flops)
peak MB                   peak of NumPy allocations during one skrnn step
                          (tracemalloc, from an empty workspace pool, so that
                          the pooled buffers count; parameters and Adam state
                          excluded)

The torch peer
--------------
skrnn's model with ``embedding_dim=None`` is ``W_xh`` (V, G*H) read by row
lookup: the input projection of a one-hot vector. The same function in torch
is ``nn.RNN(input_size=V)`` (or ``nn.GRU``/``nn.LSTM``) fed one-hot float
input, which is how char-rnn is written in torch, with the same parameters.
``nn.Embedding(V, H)`` in front of ``nn.RNN(H, H)`` would add a layer (another
H*H per token and a different model); ``nn.Embedding(V, V)`` would be an
identity lookup that only adds work. The one-hot products cost torch 4*V*G*H
flops per token that the row lookup avoids (a third to a half of skrnn's
GEMM work at H=64, 8% at H=512): that is the design difference being
measured, not a handicap of the peer. The one-hot tensor is built inside the
timed step from the ids (``F.one_hot``), as a torch training loop does, and
torch gets its native time-major layout. Both sides include the Adam update
(torch's default single-tensor Adam on CPU) and the cross-entropy; torch runs
with ``torch.set_num_threads`` equal to the BLAS threads given to NumPy.

Generation
----------
A sampling loop at batch size 1: one character at a time, the state carried,
the next id drawn from softmax(logits). skrnn runs what ``generate`` runs,
``network.TokenStepper`` and ``sampling.Sampler``; torch runs the same modules under
``torch.inference_mode`` with ``torch.multinomial``. Throughput in tokens/s.

Bars (issue): training skrnn/torch >= 2.0 (RNN, H=64 and 128), >= 1.1 (RNN,
H=512), >= 1.5 (GRU, H=128), >= 1.2 (GRU, H=512), >= 0.8 (LSTM, H=128),
>= 0.6 (LSTM, H=512); generation >= 5x torch for every cell (checked at
H=128, the size of a typical char-rnn; other sizes are printed).
"""

import argparse
import statistics
import time
import tracemalloc

import numpy as np
from threadpoolctl import threadpool_limits

from skrnn._core.network import NetworkSpec, TokenStepper, init_params, selection_matrix
from skrnn._core.optimizers import Adam
from skrnn._core.recurrent import BUFFERS, BufferPool, blas_limit, loop_threads, per_step_weights_offset
from skrnn._core.sampling import Sampler
from skrnn._training import train_step

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the `bench` extra is not installed
    torch = None

V, N, T = 65, 32, 64
GATES = {"rnn": 1, "gru": 3, "lstm": 4}
TRAIN_BARS = {("rnn", 64): 2.0, ("rnn", 128): 2.0, ("rnn", 512): 1.1,
              ("gru", 128): 1.5, ("gru", 512): 1.2, ("lstm", 128): 0.8, ("lstm", 512): 0.6}
GEN_BAR, GEN_BAR_SIZE = 5.0, 128


def gemm_flops(seconds=0.3):
    """Measured float32 GEMM rate (flop/s) of NumPy's BLAS at the current thread limit."""
    rng = np.random.default_rng(0)
    n = 1024
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    np.matmul(a, b, out=c)
    best, start = np.inf, time.perf_counter()
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        np.matmul(a, b, out=c)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best


def make_batch(seed):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, V, size=(N, T))
    Y = rng.integers(0, V, size=(N, T))
    return X, Y


class SkrnnTrainer:
    def __init__(self, cell, H):
        self.spec = NetworkSpec(n_inputs=V, n_outputs=V, hidden_size=H, cell=cell)
        self.params = init_params(self.spec, np.random.default_rng(0), np.float32)
        self.opt = Adam(self.params, learning_rate=1e-3)
        X, Y = make_batch(1)
        self.X, self.Y_tm = X, np.ascontiguousarray(Y.T)  # logits are time-major
        self.lengths = np.full(N, T)

    def step(self):
        # what a fit runs per minibatch (no L2 term or clipping here, as in the torch peer)
        loss, _ = train_step(self.params, self.spec, self.opt, self.X, self.lengths, self.Y_tm)
        return loss


# A pool of the reference columns' own: their copies do not compete with skrnn's for buffers.
_PLACER = BufferPool()


def per_step_weights(a):
    """A copy of ``a`` placed in memory as skrnn places the weights its steps multiply by.

    Where they start relative to a cache line moved the per-step products by up to 1.3x
    (``per_step_weights_offset``); the reference columns place theirs as skrnn does.
    """
    out = _PLACER.take(a.shape, a.dtype, per_step_weights_offset(a.nbytes))
    out[...] = a
    return out


class BlasFloor:
    """The matrix products of one skrnn training step, and nothing else.

    Same shapes, order and BLAS threads as the step: T recurrent
    products forward and T - 1 backward, (N, H) @ (G, H, H); the output
    projection, its two gradients, and the recurrent-weight gradient. No
    elementwise work, no Python beyond the calls, no allocation. Its time is
    what any NumPy design pays on this machine's BLAS, so torch's time over
    it is the highest ratio such a design could reach.
    """

    def __init__(self, cell, H):
        G, rng = GATES[cell], np.random.default_rng(0)
        f32 = lambda *shape: rng.standard_normal(shape, dtype=np.float32)  # noqa: E731
        self.h = f32(T + 1, N, H)
        self.W, self.W_T = per_step_weights(f32(G, H, H)), per_step_weights(f32(G, H, H))
        self.gates, self.dgates = f32(G, T, N, H), f32(G, T, N, H)
        self.W_hy, self.logits, self.drep = f32(H, V), f32(T * N, V), f32(T * N, H)
        self.dW_hy, self.dW_hh, self.scratch = f32(H, V), f32(G, H, H), f32(G, N, H)
        self.loop_threads = loop_threads(N, H)

    def step(self):
        h, W, gates, H = self.h, self.W, self.gates, self.h.shape[-1]
        h2d = h[1:].reshape(T * N, H)
        with blas_limit(self.loop_threads):  # as skrnn's step: all of it at the loop's thread count
            for t in range(T):
                np.matmul(h[t], W, out=gates[:, t])  # (N, H) @ (G, H, H)
            np.matmul(h2d, self.W_hy, out=self.logits)
            np.matmul(h2d.T, self.logits, out=self.dW_hy)
            np.matmul(self.logits, self.W_hy.T, out=self.drep)
            for t in range(T - 1, 0, -1):
                np.matmul(self.dgates[:, t], self.W_T, out=self.scratch)  # (G, N, H) @ (G, H, H)
            np.matmul(h[:-1].reshape(T * N, H).T, self.dgates.reshape(-1, T * N, H), out=self.dW_hh)


class BareRNNStep:
    """The RNN training step written out by hand for this one configuration.

    Token input, one layer, every row of length T, mean cross-entropy, Adam:
    the same math, parameters and update as ``SkrnnTrainer("rnn", H)``, with
    none of skrnn's generality (no masks, no sorting, no cell interface, no
    buffer pool, no checks). Its time is what NumPy itself needs for this
    step, so torch's time over it is the ratio a minimal NumPy program gets;
    the gap to skrnn's ratio is what skrnn's generality costs.
    """

    def __init__(self, H):
        spec = NetworkSpec(n_inputs=V, n_outputs=V, hidden_size=H, cell="rnn")
        self.params = init_params(spec, np.random.default_rng(0), np.float32)
        self.opt = Adam(self.params, learning_rate=1e-3)
        X, Y = make_batch(1)
        self.ids = np.ascontiguousarray(X.T)  # (T, N)
        self.at = np.arange(T * N) * V + Y.T.ravel()  # flat index of each step's target logit
        f32 = lambda *shape: np.zeros(shape, dtype=np.float32)  # noqa: E731
        self.h, self.dhw, self.drep = f32(T + 1, N, H), f32(T, N, H), f32(T, N, H)
        self.logits, self.dh, self.ones = f32(T * N, V), f32(N, H), np.ones(T * N, dtype=np.float32)

    def gradients(self):
        p, h, dhw, dh, M = self.params, self.h, self.dhw, self.dh, T * N
        W_xh, W_hh, W_hy = p["layer0.W_xh"], per_step_weights(p["layer0.W_hh"]), p["W_hy"]
        # x W_xh + b as a row lookup (ids are valid: "clip" skips the check), then the loop adds h W_hh
        np.take(W_xh + p["layer0.b"], self.ids, axis=0, out=h[1:], mode="clip")
        for t in range(T):
            np.dot(h[t], W_hh, out=dh)
            h[t + 1] += dh
            np.tanh(h[t + 1], out=h[t + 1])
        h_out = h[1:].reshape(M, -1)
        z = np.matmul(h_out, W_hy, out=self.logits)
        z += p["b_y"]
        z -= z.max()
        target = z.ravel()[self.at]
        np.exp(z, out=z)
        sums = np.einsum("ij->i", z)
        loss = float((np.log(sums) - target).sum(dtype=np.float64)) / M
        z *= (1 / M / sums)[:, None]  # dL/dlogits = (softmax - onehot) / M
        z.ravel()[self.at] -= 1 / M
        grads = {"W_hy": h_out.T @ z, "b_y": self.ones @ z}
        np.matmul(z, W_hy.T, out=self.drep.reshape(M, -1))
        np.multiply(h[1:], h[1:], out=dhw)
        np.subtract(1, dhw, out=dhw)  # tanh' = 1 - h^2
        dhw[T - 1] *= self.drep[T - 1]
        W_hh_T = per_step_weights(W_hh.T)
        for t in range(T - 2, -1, -1):
            np.dot(dhw[t + 1], W_hh_T, out=dh)
            dh += self.drep[t]
            dhw[t] *= dh
        d2 = dhw.reshape(M, -1)
        grads["layer0.W_hh"] = h[:-1].reshape(M, -1).T @ d2
        grads["layer0.b"] = self.ones @ d2
        grads["layer0.W_xh"] = np.asarray(selection_matrix(self.ids.ravel(), V, np.float32) @ d2)
        return loss, grads

    def step(self):
        loss, grads = self.gradients()
        with blas_limit(1):  # as skrnn's train_step: scipy's axpy beside numpy's products on one thread
            self.opt.step(grads)
        return loss


class TorchTrainer:
    def __init__(self, cell, H):
        torch.manual_seed(0)
        rnn_cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell]
        self.rnn = rnn_cls(input_size=V, hidden_size=H)  # time-major, torch's native layout
        self.head = torch.nn.Linear(H, V)
        self.opt = torch.optim.Adam(list(self.rnn.parameters()) + list(self.head.parameters()), lr=1e-3)
        X, Y = make_batch(1)
        self.x = torch.from_numpy(np.ascontiguousarray(X.T))  # (T, N) ids
        self.y = torch.from_numpy(np.ascontiguousarray(Y.T)).reshape(-1)

    def step(self):
        inp = F.one_hot(self.x, V).float()  # (T, N, V)
        out, _ = self.rnn(inp)
        logits = self.head(out)
        loss = F.cross_entropy(logits.reshape(-1, V), self.y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return loss


class SkrnnGenerator:
    def __init__(self, cell, H):
        self.spec = NetworkSpec(n_inputs=V, n_outputs=V, hidden_size=H, cell=cell)
        self.params = init_params(self.spec, np.random.default_rng(0), np.float32)

    def run(self, n_tokens):
        # What RNNCharGenerator.generate runs per character: prepared once, then one step and one draw.
        sample = Sampler(np.random.default_rng(0), V, block=min(n_tokens, 256), dtype=np.float32).draw
        stepper = TokenStepper(self.params, self.spec)
        step, logits = stepper.step, stepper.logits
        for _ in range(n_tokens):
            logits = step(sample(logits))


class TorchGenerator:
    def __init__(self, cell, H):
        torch.manual_seed(0)
        rnn_cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell]
        self.rnn = rnn_cls(input_size=V, hidden_size=H)
        self.head = torch.nn.Linear(H, V)
        self.eye = torch.eye(V)

    def run(self, n_tokens):
        gen = torch.Generator().manual_seed(0)
        with torch.inference_mode():
            state, token = None, 0
            for _ in range(n_tokens):
                out, state = self.rnn(self.eye[token].view(1, 1, V), state)
                probs = torch.softmax(self.head(out[0, 0]), dim=0)
                token = int(torch.multinomial(probs, 1, generator=gen))


def calibrate(fn, budget, at_least=3):
    """Number of calls of fn that take about ``budget`` seconds, and at least
    ``at_least``: a measurement of one 150 ms step (GRU, H=512) moved the
    ratio by 10% from run to run on a shared machine."""
    fn()
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    return max(at_least, int(budget / max(once, 1e-9)))


def timed(fn, reps):
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def interleaved(fns, repeats, budget, settle=0.0):
    """Seconds per call of each fn, one list per fn, measured A, B, A, B, ...

    Round r of every list was measured back to back, so ``a[r] / b[r]`` is a
    paired ratio: load that came and went hit both sides of it alike.

    With several threads, each measurement waits ``settle`` seconds first:
    a BLAS or OpenMP pool keeps its worker threads spinning for a while after
    a call, and those of the library measured before would take the cores
    from the one measured now (measured: torch's step at 2 threads ran at half
    speed right after NumPy's 2-thread products).
    """
    reps = [calibrate(fn, budget) for fn in fns]
    times = [[] for _ in fns]
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            time.sleep(settle)
            times[k].append(timed(fn, reps[k]))
    return times


def paired_range(ours, theirs):
    """'lo-hi': the lowest and highest of the per-round speed ratios theirs[r] / ours[r]."""
    ratios = [b / a for a, b in zip(ours, theirs)]
    return f"{min(ratios):.2f}-{max(ratios):.2f}"


def peak_mb(fn):
    fn()
    BUFFERS.clear()  # the step allocates its workspace afresh, under the tracer
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak / 2**20


def verdict(ratio, bar):
    if bar is None:
        return ""
    return f"{'PASS' if ratio >= bar else 'FAIL'} (>= {bar})"


def training_rows(cells, sizes, repeats, budget, flops, settle):
    """Print one row per cell and size; return the number of failed bars."""
    print("\ntraining step (forward + cross-entropy + backward + Adam), tokens/s")
    print(f"{'cell':5} {'H':>4} {'skrnn':>9} {'torch':>9} {'ratio':>6} {'range':>9} {'%GEMM':>6} {'bare':>6} "
          f"{'ceiling':>8} {'peak MB':>8}  bar")
    failures = 0
    for cell in cells:
        for H in sizes:
            ours = SkrnnTrainer(cell, H)
            fns = {"skrnn": ours.step, "ceiling": BlasFloor(cell, H).step}
            if cell == "rnn":
                fns["bare"] = BareRNNStep(H).step
            if torch:
                fns["torch"] = TorchTrainer(cell, H).step
            times = dict(zip(fns, interleaved(list(fns.values()), repeats, budget, settle)))
            tok = {name: N * T / statistics.median(t) for name, t in times.items()}
            ratios = {name: tok[name] / tok["torch"] for name in fns if torch and name != "torch"}
            vs_torch = {name: f"{ratios[name]:.2f}" if name in ratios else "-" for name in ("skrnn", "bare", "ceiling")}
            bound = flops / (6 * (GATES[cell] * H * H + H * V))  # tokens/s at the GEMM rate
            ratio = ratios.get("skrnn", float("nan"))
            spread = paired_range(times["skrnn"], times["torch"]) if torch else "-"
            bar = TRAIN_BARS.get((cell, H)) if torch else None
            failures += bool(bar) and ratio < bar
            torch_col = f"{tok['torch']:9.0f}" if torch else f"{'-':>9}"
            print(f"{cell:5} {H:4d} {tok['skrnn']:9.0f} {torch_col} {vs_torch['skrnn']:>6} {spread:>9} "
                  f"{100 * tok['skrnn'] / bound:5.0f}% {vs_torch['bare']:>6} {vs_torch['ceiling']:>8} "
                  f"{peak_mb(ours.step):8.1f}  {verdict(ratio, bar)}")
    return failures


def generation_rows(cells, sizes, repeats, budget, n_tokens):
    """Print one row per cell and size; return the number of failed bars."""
    print("\ngeneration (batch 1, sample one token at a time), tokens/s")
    print(f"{'cell':5} {'H':>4} {'skrnn':>9} {'torch':>9} {'ratio':>6}  bar")
    failures = 0
    for cell in cells:
        for H in sizes:
            ours, theirs = SkrnnGenerator(cell, H), TorchGenerator(cell, H) if torch else None
            fns = [lambda: ours.run(n_tokens)] + ([lambda: theirs.run(n_tokens)] if torch else [])
            tok = [n_tokens / statistics.median(t) for t in interleaved(fns, repeats, budget)]
            ratio = tok[0] / tok[1] if torch else float("nan")
            bar = GEN_BAR if torch and H == GEN_BAR_SIZE else None
            failures += bool(bar) and ratio < bar
            torch_col = f"{tok[1]:9.0f}" if torch else f"{'-':>9}"
            print(f"{cell:5} {H:4d} {tok[0]:9.0f} {torch_col} {ratio:6.2f}  {verdict(ratio, bar)}")
    return failures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads (default 1)")
    parser.add_argument("--cells", nargs="+", default=["rnn", "gru", "lstm"], choices=list(GATES))
    parser.add_argument("--sizes", nargs="+", type=int, default=[64, 128, 256, 512])
    parser.add_argument("--repeats", type=int, default=7, help="measurements per row, median taken")
    parser.add_argument("--quick", action="store_true", help="3 short measurements per row")
    parser.add_argument("--no-train", action="store_true", help="skip the training rows")
    parser.add_argument("--no-generate", action="store_true", help="skip the generation rows")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else args.repeats
    budget = 0.05 if args.quick else 0.2  # seconds per measurement
    if torch:
        torch.set_num_threads(args.threads)
    failures = 0
    with threadpool_limits(limits=args.threads, user_api="blas"):
        flops = gemm_flops()
        print(f"V={V} N={N} T={T} float32, {args.threads} thread(s); "
              f"float32 GEMM {flops / 1e9:.0f} GFLOP/s; torch {torch.__version__ if torch else 'absent'}")
        if not args.no_train:
            settle = 0.3 if args.threads > 1 else 0.0  # see interleaved
            failures += training_rows(args.cells, args.sizes, repeats, budget, flops, settle)
        if not args.no_generate:
            n_tokens = 200 if args.quick else 1000
            failures += generation_rows(args.cells, args.sizes, repeats, budget, n_tokens)
    print(f"\n{failures} bar(s) failed" if failures else "\nall bars passed")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
