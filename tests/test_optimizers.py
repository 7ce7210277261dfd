import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skrnn._core.optimizers import (
    SOLVERS,
    SGD,
    Adagrad,
    Adam,
    RMSprop,
    _axpy,
    add_l2_penalty,
    clip_grad_norm,
    clip_grad_value,
    is_bias,
)

KEYS_SHAPES = {"layer0.W_hh": (2, 3), "layer0.b": (3,), "W_hy": (3, 4)}


def make_params(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(s).astype(dtype) for k, s in KEYS_SHAPES.items()}


def make_grads(seed, dtype=np.float64):
    return make_params(seed + 100, dtype)


def copy(d):
    return {k: v.copy() for k, v in d.items()}


def test_sgd_step_matches_hand_computed_nesterov():
    params, lr, mu = make_params(), 0.1, 0.9
    p0, g1, g2 = copy(params), make_grads(1), make_grads(2)
    opt = SGD(params, learning_rate=lr, momentum=mu, nesterov=True)
    opt.step(g1)
    for k in params:
        b1 = g1[k]
        p1 = p0[k] - lr * (g1[k] + mu * b1)
        assert_allclose(params[k], p1, rtol=1e-14)
    opt.step(g2)
    for k in params:
        b2 = mu * g1[k] + g2[k]
        p2 = p0[k] - lr * (g1[k] + mu * g1[k]) - lr * (g2[k] + mu * b2)
        assert_allclose(params[k], p2, rtol=1e-14)
    assert opt.t == 2


def test_sgd_step_matches_hand_computed_plain_momentum():
    params, lr, mu = make_params(), 0.1, 0.5
    p0, g1, g2 = copy(params), make_grads(1), make_grads(2)
    opt = SGD(params, learning_rate=lr, momentum=mu, nesterov=False)
    opt.step(g1)
    opt.step(g2)
    for k in params:
        p2 = p0[k] - lr * g1[k] - lr * (mu * g1[k] + g2[k])
        assert_allclose(params[k], p2, rtol=1e-14)


def test_adam_step_matches_hand_computed():
    params, lr, b1, b2, eps = make_params(), 0.01, 0.9, 0.999, 1e-8
    p0, g1, g2 = copy(params), make_grads(1), make_grads(2)
    opt = Adam(params, learning_rate=lr, beta_1=b1, beta_2=b2, epsilon=eps)
    opt.step(g1)
    for k in params:
        # Bias correction makes the first step lr * g / (|g| + eps).
        p1 = p0[k] - lr * g1[k] / (np.abs(g1[k]) + eps)
        assert_allclose(params[k], p1, rtol=1e-12)
    opt.step(g2)
    for k in params:
        m2 = b1 * (1 - b1) * g1[k] + (1 - b1) * g2[k]
        v2 = b2 * (1 - b2) * g1[k] ** 2 + (1 - b2) * g2[k] ** 2
        m_hat, v_hat = m2 / (1 - b1**2), v2 / (1 - b2**2)
        p1 = p0[k] - lr * g1[k] / (np.abs(g1[k]) + eps)
        p2 = p1 - lr * m_hat / (np.sqrt(v_hat) + eps)
        assert_allclose(params[k], p2, rtol=1e-12)


def test_adagrad_step_matches_hand_computed():
    params, lr, eps = make_params(), 0.1, 1e-8
    p0, g1, g2 = copy(params), make_grads(1), make_grads(2)
    opt = Adagrad(params, learning_rate=lr, epsilon=eps)
    opt.step(g1)
    for k in params:
        p1 = p0[k] - lr * g1[k] / (np.abs(g1[k]) + eps)
        assert_allclose(params[k], p1, rtol=1e-14)
    opt.step(g2)
    for k in params:
        p1 = p0[k] - lr * g1[k] / (np.abs(g1[k]) + eps)
        p2 = p1 - lr * g2[k] / (np.sqrt(g1[k] ** 2 + g2[k] ** 2) + eps)
        assert_allclose(params[k], p2, rtol=1e-14)


def test_rmsprop_step_matches_hand_computed():
    params, lr, rho, eps = make_params(), 0.01, 0.9, 1e-8
    p0, g1, g2 = copy(params), make_grads(1), make_grads(2)
    opt = RMSprop(params, learning_rate=lr, rho=rho, epsilon=eps)
    opt.step(g1)
    for k in params:
        a1 = (1 - rho) * g1[k] ** 2
        p1 = p0[k] - lr * g1[k] / (np.sqrt(a1) + eps)
        assert_allclose(params[k], p1, rtol=1e-14)
    opt.step(g2)
    for k in params:
        a1 = (1 - rho) * g1[k] ** 2
        a2 = rho * a1 + (1 - rho) * g2[k] ** 2
        p1 = p0[k] - lr * g1[k] / (np.sqrt(a1) + eps)
        p2 = p1 - lr * g2[k] / (np.sqrt(a2) + eps)
        assert_allclose(params[k], p2, rtol=1e-14)


# torch.optim's functional updates are what its classes call in step(); the
# classes themselves import torch._dynamo on construction (~1.6 s), too slow here.
def torch_sgd(torch, ps, momentum, nesterov, lr):
    buffers = [None] * len(ps)  # torch creates the momentum buffer on step 1
    from torch.optim.sgd import sgd

    return lambda gs: sgd(
        ps, gs, buffers, foreach=False, weight_decay=0, momentum=momentum,
        lr=lr, dampening=0, nesterov=nesterov, maximize=False,
    )


def torch_adam(torch, ps, lr, beta1, beta2, eps):
    m, v = [torch.zeros_like(p) for p in ps], [torch.zeros_like(p) for p in ps]
    steps = [torch.tensor(0.0) for p in ps]
    from torch.optim.adam import adam

    return lambda gs: adam(
        ps, gs, m, v, [], steps, foreach=False, amsgrad=False, beta1=beta1,
        beta2=beta2, lr=lr, weight_decay=0, eps=eps, maximize=False,
    )


def torch_adagrad(torch, ps, lr, eps):
    sums, steps = [torch.zeros_like(p) for p in ps], [torch.tensor(0.0) for p in ps]
    from torch.optim.adagrad import adagrad

    return lambda gs: adagrad(
        ps, gs, sums, steps, foreach=False, lr=lr, weight_decay=0, lr_decay=0,
        eps=eps, maximize=False,
    )


def torch_rmsprop(torch, ps, lr, alpha, eps):
    avgs, steps = [torch.zeros_like(p) for p in ps], [torch.tensor(0.0) for p in ps]
    from torch.optim.rmsprop import rmsprop

    return lambda gs: rmsprop(
        ps, gs, avgs, [], [], steps, foreach=False, lr=lr, alpha=alpha, eps=eps,
        weight_decay=0, momentum=0, centered=False,
    )


TORCH_CASES = [
    ("sgd", dict(learning_rate=0.1, momentum=0.9, nesterov=True),
     torch_sgd, dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("sgd", dict(learning_rate=0.1, momentum=0.7, nesterov=False),
     torch_sgd, dict(lr=0.1, momentum=0.7, nesterov=False)),
    ("adam", dict(learning_rate=0.05, beta_1=0.8, beta_2=0.99, epsilon=1e-6),
     torch_adam, dict(lr=0.05, beta1=0.8, beta2=0.99, eps=1e-6)),
    ("adagrad", dict(learning_rate=0.1, epsilon=1e-6),
     torch_adagrad, dict(lr=0.1, eps=1e-6)),
    ("rmsprop", dict(learning_rate=0.01, rho=0.8, epsilon=1e-6),
     torch_rmsprop, dict(lr=0.01, alpha=0.8, eps=1e-6)),
]


@pytest.mark.parametrize("name, kwargs, torch_solver, torch_kwargs", TORCH_CASES)
def test_solver_matches_torch_over_five_steps(name, kwargs, torch_solver, torch_kwargs):
    torch = pytest.importorskip("torch")
    params = make_params()
    tparams = [torch.from_numpy(p.copy()) for p in params.values()]
    opt = SOLVERS[name](params, **kwargs)
    torch_step = torch_solver(torch, tparams, **torch_kwargs)
    for step in range(5):
        grads = make_grads(step)
        opt.step(grads)
        torch_step([torch.from_numpy(grads[k].copy()) for k in params])
    for p, tp in zip(params.values(), tparams):
        assert_allclose(p, tp.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_solver_step_keeps_float32_in_place(name):
    params = make_params(dtype=np.float32)
    arrays = dict(params)
    opt = SOLVERS[name](params)
    before = copy(params)
    opt.step(make_grads(1, np.float32))
    for k, p in params.items():
        assert p is arrays[k]
        assert p.dtype == np.float32
        assert not np.array_equal(p, before[k])
    for buffers in opt.state.values():
        assert all(b.dtype == np.float32 for b in buffers.values())


def test_solver_learning_rate_change_takes_effect():
    params = make_params()
    before = copy(params)
    opt = SGD(params, learning_rate=0.1, momentum=0.0)
    opt.learning_rate = 0.0
    opt.step(make_grads(1))
    for k in params:
        assert_array_equal(params[k], before[k])


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_solver_state_dict_round_trip_continues_identically(name):
    straight = make_params()
    opt = SOLVERS[name](straight)
    for step in range(6):
        opt.step(make_grads(step))

    resumed = make_params()
    first = SOLVERS[name](resumed)
    for step in range(3):
        first.step(make_grads(step))
    state = pickle.loads(pickle.dumps(first.state_dict()))
    second = SOLVERS[name](resumed)
    second.load_state_dict(state)
    assert second.t == 3
    for step in range(3, 6):
        second.step(make_grads(step))
    for k in straight:
        assert_array_equal(resumed[k], straight[k])


def test_solver_state_dict_is_a_copy():
    opt = Adam(make_params())
    opt.step(make_grads(1))
    state = opt.state_dict()
    saved = copy(state["m"])
    opt.step(make_grads(2))
    for k in saved:
        assert_array_equal(state["m"][k], saved[k])


def test_solver_load_state_dict_rejects_other_parameters():
    state = Adam(make_params()).state_dict()
    del state["v"]["W_hy"]
    with pytest.raises(ValueError, match="keys"):
        Adam(make_params()).load_state_dict(state)
    state = Adam({"W": np.zeros((2, 2))}).state_dict()
    with pytest.raises(ValueError, match="shape"):
        Adam({"W": np.zeros((3, 2))}).load_state_dict(state)


def grads_with_norm_5():
    return {"W": np.array([[3.0, 0.0]]), "b": np.array([0.0, 4.0])}


def global_norm(grads):
    return np.sqrt(sum(np.sum(g**2) for g in grads.values()))


def test_clip_grad_norm_scales_down_to_max_norm():
    grads = grads_with_norm_5()
    norm = clip_grad_norm(grads, max_norm=1.0)
    assert norm == pytest.approx(5.0, rel=1e-15)
    assert global_norm(grads) == pytest.approx(1.0, rel=1e-15)
    assert_allclose(grads["W"], [[0.6, 0.0]], rtol=1e-15)
    assert_allclose(grads["b"], [0.0, 0.8], rtol=1e-15)


@pytest.mark.parametrize("max_norm", [10.0, None])
def test_clip_grad_norm_leaves_small_gradients_alone(max_norm):
    grads = grads_with_norm_5()
    assert clip_grad_norm(grads, max_norm) == pytest.approx(5.0, rel=1e-15)
    for k, g in grads_with_norm_5().items():
        assert_array_equal(grads[k], g)


def test_clip_grad_norm_leaves_non_finite_gradients_alone():
    grads = {"W": np.array([np.inf, 1.0])}
    assert clip_grad_norm(grads, 1.0) == np.inf
    assert_array_equal(grads["W"], [np.inf, 1.0])


def test_clip_grad_value_clips_in_place():
    g = np.array([-3.0, -0.5, 0.0, 2.0], dtype=np.float32)
    grads = {"W": g}
    clip_grad_value(grads, 1.0)
    assert grads["W"] is g
    assert g.dtype == np.float32
    assert_array_equal(g, [-1.0, -0.5, 0.0, 1.0])
    clip_grad_value(grads, None)
    assert_array_equal(g, [-1.0, -0.5, 0.0, 1.0])


def test_is_bias_reads_the_last_key_component():
    assert is_bias("layer0.b") and is_bias("b_y") and is_bias("layer1.b_hh")
    assert not is_bias("layer0.W_hh") and not is_bias("W_hy")
    assert not is_bias("bidir.W_xh")


def test_add_l2_penalty_adds_alpha_w_to_weights_only():
    params, alpha = make_params(), 0.1
    grads = make_grads(1)
    before = copy(grads)
    penalty = add_l2_penalty(params, grads, alpha)
    for k in ("layer0.W_hh", "W_hy"):
        assert_allclose(grads[k], before[k] + alpha * params[k], rtol=1e-15)
    assert_array_equal(grads["layer0.b"], before["layer0.b"])
    expected = 0.5 * alpha * (
        np.sum(params["layer0.W_hh"] ** 2) + np.sum(params["W_hy"] ** 2)
    )
    assert penalty == pytest.approx(expected, rel=1e-14)


def test_add_l2_penalty_skips_a_set_of_keys():
    params = make_params()
    grads = make_grads(1)
    before = copy(grads)
    add_l2_penalty(params, grads, 0.5, skip={"W_hy"})
    assert_array_equal(grads["W_hy"], before["W_hy"])
    for k in ("layer0.W_hh", "layer0.b"):
        assert_allclose(grads[k], before[k] + 0.5 * params[k], rtol=1e-15)


def axpy_cases():
    """(y, x): contiguous float32/float64 (the BLAS path), then the numpy fallbacks."""
    rng = np.random.default_rng(0)
    wide = rng.standard_normal((4, 6))
    return {
        "float32": (rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32)),
        "float64": (rng.standard_normal(5), rng.standard_normal(5)),
        "column-slice y": (wide[:, :3], rng.standard_normal((4, 3))),
        "transposed x": (rng.standard_normal((3, 4)), wide[:, :3].T),
        "mixed dtypes": (rng.standard_normal(5).astype(np.float32), rng.standard_normal(5)),
        "empty": (np.zeros((0, 3)), np.zeros((0, 3))),
        "0-d": (np.array(1.5), np.array(2.0)),
    }


@pytest.mark.parametrize("case", sorted(axpy_cases()))
def test_axpy_updates_y_in_place(case):
    y, x = axpy_cases()[case]
    expected = y + np.asarray(-0.3 * x, dtype=y.dtype)
    _axpy(-0.3, x, y)  # a write into a copy would leave y as it was
    assert_allclose(y, expected, rtol=1e-6 if y.dtype == np.float32 else 1e-15)
