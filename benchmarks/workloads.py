"""The MNIST-shaped MLP workload (784-512-512-10, relu, softmax + cross-entropy, float32)
implemented five ways: minikeras ``fit``, the bare matrix products (the floor), a
careful hand-written NumPy loop (the reference ``fit`` is measured against), and, when
installed, a PyTorch loop and Keras 3 ``fit`` on the torch backend.

Each ``run_*`` function trains one epoch on ``x``, ``y`` and returns the seconds it took.
"""

from __future__ import annotations

import os
import time

import numpy as np

SIZES = (784, 512, 512, 10)
LEARNING_RATES = {"sgd": 0.01, "adam": 0.001}


def make_data(samples: int, seed: int = 0, dtype: str = "float32") -> tuple[np.ndarray, np.ndarray]:
    """Random inputs in [0, 1) and one-hot labels of MNIST's shapes."""
    rng = np.random.default_rng(seed)
    x = np.empty((samples, SIZES[0]), dtype=dtype)
    for start in range(0, samples, 4096):  # in chunks: no full-size temporary inflates the peak memory
        rng.random(out=x[start:start + 4096], dtype=x.dtype)
    y = np.zeros((samples, SIZES[-1]), dtype=dtype)
    y[np.arange(samples), rng.integers(0, SIZES[-1], size=samples)] = 1.0
    return x, y


def _glorot(rng: np.random.Generator, dtype: np.dtype = np.float32) -> list[np.ndarray]:
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        params.append(rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(dtype))
        params.append(np.zeros(fan_out, dtype=dtype))
    return params


# -- minikeras ----------------------------------------------------------------------------
def run_minikeras(x: np.ndarray, y: np.ndarray, batch_size: int, optimizer: str) -> float:
    from minikeras import backend
    from minikeras.layers import Dense, Input
    from minikeras.models import Sequential

    floatx = backend.floatx()
    backend.set_floatx(x.dtype.name)  # compute in the data's precision
    try:
        model = Sequential([Input((SIZES[0],)), Dense(SIZES[1], activation="relu"),
                            Dense(SIZES[2], activation="relu"), Dense(SIZES[3], activation="softmax")])
        model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
        return time.perf_counter() - start
    finally:
        backend.set_floatx(floatx)


# -- the floor: only the matrix products of one epoch -------------------------------------
def run_floor(x: np.ndarray, y: np.ndarray, batch_size: int, optimizer: str) -> float:
    w1, _, w2, _, w3, _ = _glorot(np.random.default_rng(0), x.dtype)
    start = time.perf_counter()
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size]
        a1 = xb @ w1
        a2 = a1 @ w2
        out = a2 @ w3
        _ = a2.T @ out
        d2 = out @ w3.T
        _ = a1.T @ d2
        d1 = d2 @ w2.T
        _ = xb.T @ d1
    return time.perf_counter() - start


# -- a careful hand-written NumPy loop ----------------------------------------------------
def run_numpy_loop(x: np.ndarray, y: np.ndarray, batch_size: int, optimizer: str) -> float:
    rng = np.random.default_rng(0)
    f = x.dtype.type
    params = _glorot(rng, x.dtype)
    grads = [np.empty_like(p) for p in params]
    lr = f(LEARNING_RATES[optimizer])
    if optimizer == "adam":
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        scratch = [np.empty_like(p) for p in params]
    n = len(x)
    xbuf = np.empty((batch_size, x.shape[1]), dtype=x.dtype)
    ybuf = np.empty((batch_size, y.shape[1]), dtype=y.dtype)
    start = time.perf_counter()
    order = rng.permutation(n)
    step = 0
    for i in range(0, n, batch_size):
        idx = order[i:i + batch_size]
        xb = np.take(x, idx, axis=0, out=xbuf[:len(idx)], mode="clip")
        yb = np.take(y, idx, axis=0, out=ybuf[:len(idx)], mode="clip")
        w1, b1, w2, b2, w3, b3 = params
        a1 = xb @ w1
        a1 += b1
        np.maximum(a1, 0, out=a1)
        a2 = a1 @ w2
        a2 += b2
        np.maximum(a2, 0, out=a2)
        p = a2 @ w3
        p += b3
        p -= p.max(axis=1, keepdims=True)
        np.exp(p, out=p)
        p /= p.sum(axis=1, keepdims=True)
        _loss = -np.log(np.clip(p[yb.astype(bool)], 1e-7, 1.0)).mean()
        delta = p - yb
        delta *= f(1.0 / len(idx))
        ones = np.ones(len(idx), dtype=x.dtype)
        np.matmul(a2.T, delta, out=grads[4])
        np.matmul(ones, delta, out=grads[5])
        delta = delta @ w3.T
        delta *= a2 > 0
        np.matmul(a1.T, delta, out=grads[2])
        np.matmul(ones, delta, out=grads[3])
        delta = delta @ w2.T
        delta *= a1 > 0
        np.matmul(xb.T, delta, out=grads[0])
        np.matmul(ones, delta, out=grads[1])
        step += 1
        for k, (param, grad) in enumerate(zip(params, grads)):
            if optimizer == "sgd":
                grad *= lr
                param -= grad
            else:
                s = scratch[k]
                np.multiply(grad, grad, out=s)
                s -= v[k]
                s *= f(0.001)
                v[k] += s
                grad -= m[k]
                grad *= f(0.1)
                m[k] += grad
                alpha = lr * np.sqrt(f(1) - f(0.999) ** step) / (f(1) - f(0.9) ** step)
                np.multiply(m[k], alpha, out=grad)
                np.sqrt(v[k], out=s)
                s += f(1e-7)
                grad /= s
                param -= grad
                if step % 16 == 0:  # keep m and v off subnormal numbers, as minikeras does
                    for slot in (m[k], v[k]):
                        np.abs(slot, out=s)
                        slot[s < np.finfo(x.dtype).tiny * 2.0**24] = 0
    return time.perf_counter() - start


# -- PyTorch (optional) -------------------------------------------------------------------
def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def run_torch(x: np.ndarray, y: np.ndarray, batch_size: int, optimizer: str) -> float:
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512),
                                torch.nn.ReLU(), torch.nn.Linear(512, 10))
    opt_cls = torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam
    opt = opt_cls(model.parameters(), lr=LEARNING_RATES[optimizer])
    loss_fn = torch.nn.CrossEntropyLoss()
    xt = torch.from_numpy(x)
    labels = torch.from_numpy(y.argmax(axis=1))
    start = time.perf_counter()
    order = torch.randperm(len(xt))
    for i in range(0, len(xt), batch_size):
        idx = order[i:i + batch_size]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xt[idx]), labels[idx])
        loss.backward()
        opt.step()
    return time.perf_counter() - start


# -- Keras 3 on the torch backend (optional) ---------------------------------------------
def keras_available() -> bool:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras  # noqa: F401
    except ImportError:
        return False
    return True


def run_keras(x: np.ndarray, y: np.ndarray, batch_size: int, optimizer: str) -> float:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(512, activation="relu"),
                              keras.layers.Dense(512, activation="relu"), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:batch_size * 2], y[:batch_size * 2], batch_size=batch_size, epochs=1, verbose=0)  # warm-up
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    return time.perf_counter() - start


RUNNERS = {
    "minikeras": (run_minikeras, lambda: True),
    "floor": (run_floor, lambda: True),
    "numpy_loop": (run_numpy_loop, lambda: True),
    "torch": (run_torch, torch_available),
    "keras": (run_keras, keras_available),
}
