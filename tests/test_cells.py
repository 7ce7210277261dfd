"""The cells against PyTorch: same weights, same outputs, states and gradients.

PyTorch's layouts are the reference (``W_xh = weight_ih.T``, ``W_hh =
weight_hh.T``, gate blocks in its order); its two biases add up to ``b``,
except the GRU's ``b_hn``, which sits inside the reset product.
"""

import numpy as np
import pytest

from skrnn._core.network import NetworkSpec, backward, forward, init_params

torch = pytest.importorskip("torch")
pack_padded_sequence = torch.nn.utils.rnn.pack_padded_sequence
pad_packed_sequence = torch.nn.utils.rnn.pad_packed_sequence

D, H, C, T, N = 3, 5, 4, 6, 4
TORCH_CELLS = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}


def _tensor(a):
    return torch.nn.Parameter(torch.from_numpy(np.ascontiguousarray(a)))


def _torch_model(spec, params):
    """torch RNN/GRU/LSTM and Linear head holding ``params``."""
    rnn = TORCH_CELLS[spec.cell](spec.n_inputs, spec.hidden_size, num_layers=spec.num_layers,
                                 bidirectional=spec.bidirectional).double()
    for layer in range(spec.num_layers):
        for suffix in spec.directions:
            p = {k.split(".", 1)[1]: v for k, v in params.items() if k.startswith(f"layer{layer}{suffix}.")}
            name = f"l{layer}{suffix}"
            bias_hh = np.zeros_like(p["b"])
            if spec.cell == "gru":
                bias_hh[2 * H :] = p["b_hn"]
            setattr(rnn, f"weight_ih_{name}", _tensor(p["W_xh"].T))
            setattr(rnn, f"weight_hh_{name}", _tensor(p["W_hh"].T))
            setattr(rnn, f"bias_ih_{name}", _tensor(p["b"]))
            setattr(rnn, f"bias_hh_{name}", _tensor(bias_hh))
    rnn.flatten_parameters()
    head = torch.nn.Linear(spec.output_size, spec.n_outputs).double()
    head.weight = _tensor(params["W_hy"].T)
    head.bias = _tensor(params["b_y"])
    return rnn, head


def _torch_grads(spec, rnn, head):
    """Gradients of the torch model under skrnn's parameter names."""
    grads = {"W_hy": head.weight.grad.numpy().T, "b_y": head.bias.grad.numpy()}
    for layer in range(spec.num_layers):
        for suffix in spec.directions:
            name, prefix = f"l{layer}{suffix}", f"layer{layer}{suffix}"
            grads[f"{prefix}.W_xh"] = getattr(rnn, f"weight_ih_{name}").grad.numpy().T
            grads[f"{prefix}.W_hh"] = getattr(rnn, f"weight_hh_{name}").grad.numpy().T
            db_ih = getattr(rnn, f"bias_ih_{name}").grad.numpy()
            db_hh = getattr(rnn, f"bias_hh_{name}").grad.numpy()
            grads[f"{prefix}.b"] = db_ih
            if spec.cell == "gru":
                grads[f"{prefix}.b_hn"] = db_hh[2 * H :]
            else:
                np.testing.assert_allclose(db_hh, db_ih)  # b = b_ih + b_hh: one gradient
    return grads


def _run_both(cell, num_layers, bidirectional, input_kind, seed):
    n_inputs = D if input_kind == "dense" else 7
    spec = NetworkSpec(n_inputs=n_inputs, n_outputs=C, hidden_size=H, cell=cell, input_kind=input_kind,
                       num_layers=num_layers, bidirectional=bidirectional)
    rng = np.random.default_rng(seed)
    params = init_params(spec, rng, np.float64)
    for v in params.values():  # non-zero biases exercise every bias path
        v += rng.normal(scale=0.3, size=v.shape)
    lengths = np.array([4, 6, 1, 3])  # ragged and unsorted
    if input_kind == "dense":
        X = rng.standard_normal((N, T, D))
        x_torch = torch.from_numpy(X.transpose(1, 0, 2).copy())
    else:
        X = rng.integers(0, n_inputs, size=(N, T))
        x_torch = torch.nn.functional.one_hot(torch.from_numpy(X.T.copy()), n_inputs).double()
    n_states = 2 if cell == "lstm" else 1
    n_dirs = len(spec.directions)
    state0 = [tuple(rng.standard_normal((N, H)) * 0.5 for _ in range(n_states))
              for _ in range(num_layers * n_dirs)]
    upstream = rng.standard_normal((T, N, C))  # dL/dlogits: L = sum(logits * upstream)

    logits, states, cache = forward(params, spec, X, lengths, state0)
    grads = backward(params, upstream, cache)

    rnn, head = _torch_model(spec, params)
    h0 = torch.from_numpy(np.stack([s[0] for s in state0]))
    hx = (h0, torch.from_numpy(np.stack([s[1] for s in state0]))) if cell == "lstm" else h0
    packed = pack_padded_sequence(x_torch, torch.from_numpy(lengths), enforce_sorted=False)
    out, hn = rnn(packed, hx)
    out, _ = pad_packed_sequence(out, total_length=T)
    torch_logits = head(out)
    (torch_logits * torch.from_numpy(upstream)).sum().backward()
    return spec, (logits, states, grads), (torch_logits.detach().numpy(), hn, _torch_grads(spec, rnn, head))


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (2, False), (1, True), (2, True)])
def test_cells_match_torch_dense_input(cell, num_layers, bidirectional):
    spec, ours, theirs = _run_both(cell, num_layers, bidirectional, "dense", seed=num_layers + 2 * bidirectional)
    logits, states, grads = ours
    torch_logits, hn, torch_grads = theirs
    np.testing.assert_allclose(logits, torch_logits, rtol=1e-5, atol=1e-10)
    # final states of the forward direction of every layer
    h_n = (hn[0] if cell == "lstm" else hn).detach().numpy()
    step = len(spec.directions)
    for layer, st in enumerate(states):
        np.testing.assert_allclose(st[0], h_n[layer * step], rtol=1e-5, atol=1e-10)
        if cell == "lstm":
            np.testing.assert_allclose(st[1], hn[1].detach().numpy()[layer * step], rtol=1e-5, atol=1e-10)
    assert set(grads) == set(torch_grads)
    for name in grads:
        np.testing.assert_allclose(grads[name], torch_grads[name], rtol=1e-5, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_cells_match_torch_token_input(cell):
    """Token ids read by row lookup equal torch fed with one-hot vectors."""
    _, ours, theirs = _run_both(cell, 2, False, "tokens", seed=7)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-10)
    for name in ours[2]:
        np.testing.assert_allclose(ours[2][name], theirs[2][name], rtol=1e-5, atol=1e-10, err_msg=name)
