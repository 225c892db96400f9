"""Every optimizer and schedule against numbers computed by real Keras 3 (float32).

The fixture ``tests/fixtures/keras3/optimizers.json`` is written by
``tests/fixtures/keras3/make_optimizers.py``; Keras is not needed to run these tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from minikeras import optimizers
from minikeras.layers import Variable
from minikeras.optimizers import schedules

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "keras3" / "optimizers.json").read_text())
CASES = {case["id"]: case for case in FIXTURE["cases"]}
SCHEDULES = {entry["id"]: entry for entry in FIXTURE["schedules"]}
RTOL = 1e-5


def _variables():
    kernel, bias = (np.array(w, dtype=np.float32) for w in FIXTURE["initial_weights"])
    return [Variable(kernel, "kernel", "sequential/dense/kernel"), Variable(bias, "bias", "sequential/dense/bias")]


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_updates_and_state_match_keras(case_id):
    case = CASES[case_id]
    config = {"class_name": case["class_name"], "config": dict(case["config"])}
    opt = optimizers.deserialize(config)
    assert type(opt).__name__ == case["class_name"]
    if case["exclude_from_weight_decay"]:
        opt.exclude_from_weight_decay(var_names=case["exclude_from_weight_decay"])
    variables = _variables()
    for step, (grads, expected) in enumerate(zip(FIXTURE["gradients"], case["weights_after"])):
        for var, g in zip(variables, grads):
            var.grad[...] = g
        opt.apply(variables)
        for var, want in zip(variables, expected):
            assert var.value.dtype == np.float32
            np.testing.assert_allclose(var.value, want, rtol=RTOL, atol=1e-7,
                                       err_msg=f"{case_id}: {var.path} after step {step + 1}")
    assert opt.variable_names == case["state_names"]
    state = opt.get_weights()
    assert int(state[0]) == len(FIXTURE["gradients"])
    for name, got, want in zip(case["state_names"][1:], state[1:], case["state"][1:]):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-7, err_msg=f"{case_id}: {name}")
        assert np.asarray(got).dtype == np.float32, name


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_keras_configs_round_trip(case_id):
    case = CASES[case_id]
    opt = optimizers.deserialize({"class_name": case["class_name"], "config": dict(case["config"])})
    config = opt.get_config()
    expected = dict(case["config"])
    assert set(config) == set(expected)
    for key, value in expected.items():
        if key == "name":
            continue
        if key == "learning_rate" and isinstance(value, dict):
            assert config[key]["class_name"] == value["class_name"]
            assert config[key]["config"] == value["config"]
        else:
            assert config[key] == value, key
    assert json.loads(json.dumps(config)) == config


@pytest.mark.parametrize("schedule_id", sorted(SCHEDULES))
def test_schedules_match_keras(schedule_id):
    entry = SCHEDULES[schedule_id]
    schedule = schedules.deserialize(entry["config"])
    assert schedules.serialize(schedule)["config"] == entry["config"]["config"]
    got = np.array([schedule(step) for step in entry["steps"]], dtype=np.float32)
    np.testing.assert_allclose(got, entry["values"], rtol=RTOL, atol=1e-9)
