"""Choosing the next token from logits: greedy, temperature and top-k sampling.

``Sampler`` draws a whole stream of tokens (one per generated character), each
from its own logits, with little work per token, by the Gumbel-max trick:
``argmax(z / T + g)`` with ``g = -log(E)``, E standard exponential, is a draw
from ``softmax(z / T)``. The noise is drawn ahead in blocks (one generator call
and one ``log`` per block), and for ``T <= 1`` it is scaled by T once, as
``argmax(z + T g)`` is the same draw: a token then costs one ``add`` and one
``argmax``, and no ``exp`` can overflow however large the logits.
"""

import numpy as np


def log_softmax(logits, axis=-1):
    """Log-probabilities along ``axis``: z - logsumexp(z), finite even for 1e4."""
    logits = np.asarray(logits)
    z = logits - logits.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


class Sampler:
    """Draw successive tokens, each from its own (V,) logits: ``sampler(logits) -> int``.

    ``temperature=0`` is greedy (argmax, ties to the lowest index). Otherwise
    each token is drawn from softmax(logits / temperature): a higher
    temperature flattens the distribution and gives more diverse samples.
    ``top_k`` keeps only the k largest logits eligible, renormalising among
    them (ties broken towards the lowest index, so ``top_k=1`` is greedy);
    ``top_k >= n_classes`` keeps all. The draws are deterministic for a given
    ``rng`` (how they use it: see the module docstring).
    ``block`` tokens' worth of noise is drawn at a time (pass the number of
    tokens expected when it is smaller); ``dtype`` is that of the noise and
    should be the logits' (float32 noise is ample for drawing among a few
    hundred classes, and adding it to float32 logits needs no cast).
    ``draw`` is the same function as calling the sampler, a little cheaper.
    """

    def __init__(self, rng, n_classes, temperature=1.0, top_k=None, block=256, dtype=np.float64):
        temperature = float(temperature)
        k = None if top_k is None or top_k >= n_classes else int(top_k)
        self.greedy = temperature == 0 or k == 1
        width = n_classes if k is None else k
        block = max(1, int(block))
        dtype = np.dtype(dtype)
        # T <= 1: argmax(z + T g). Above 1, argmax(z / T + g), as T g could overflow for a huge T.
        noise_scale = dtype.type(-min(temperature, 1.0))  # g = -log(E)
        logit_scale = None if temperature <= 1 else dtype.type(1.0 / temperature)
        # The draws' resolution: a float32 exponential is exactly 0 once in 2**23 draws (1 - U rounded
        # to 0), and -log(0) = inf would pick its token however unlikely (a logit 50 below the best one
        # came out 14 times in 2e6 draws instead of never), with a divide-by-zero warning.
        smallest = dtype.type(np.finfo(dtype).eps / 2)
        buf = np.empty(width, dtype=dtype)
        rows = []  # rows of the current block of noise, next first
        add, argmax = np.add, buf.argmax

        def refill():
            noise = rng.standard_exponential((block, width), dtype=dtype)
            np.maximum(noise, smallest, out=noise)
            np.log(noise, out=noise)
            noise *= noise_scale
            rows.extend(reversed(list(noise)))

        if self.greedy:
            def draw(logits):
                return int(logits.argmax())
        elif k is None and logit_scale is None:  # the common case: one add, one argmax
            def draw(logits):
                if not rows:
                    refill()
                add(logits, rows.pop(), out=buf)
                return int(argmax())
        else:
            def draw(logits):
                if not rows:
                    refill()
                g = rows.pop()
                index = None
                if k is not None:
                    index = (-logits).argsort(kind="stable")[:k]
                    logits = logits[index]
                if logit_scale is None:
                    add(logits, g, out=buf)
                else:
                    np.multiply(logits, logit_scale, out=buf)
                    add(buf, g, out=buf)
                j = int(argmax())
                return j if index is None else int(index[j])

        self.draw = draw

    def __call__(self, logits):
        return self.draw(logits)
