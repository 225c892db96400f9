"""The slide's "30 seconds to Keras" example runs verbatim and learns."""

import importlib.util
import re
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parent.parent / "examples" / "keras_30_seconds.py"

SLIDE = """\
from keras.models import Sequential
from keras.layers import Dense, Activation
from keras.optimizers import SGD

model = Sequential()
model.add(Dense(output_dim=64, input_dim=100))
model.add(Activation("relu"))
model.add(Dense(output_dim=10))
model.add(Activation("softmax"))

model.compile(loss='categorical_crossentropy',
              optimizer='sgd', metrics=['accuracy'])

model.fit(X_train, Y_train, nb_epoch=5, batch_size=32)

loss = model.evaluate(X_test, Y_test, batch_size=32)
"""


def load_example():
    spec = importlib.util.spec_from_file_location("keras_30_seconds", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_holds_the_slide_verbatim():
    text = EXAMPLE.read_text()
    block = text.split("# --- the slide, verbatim")[1].split("# --- end of the slide")[0]
    block = block.split("\n", 1)[1]
    lines = [line[4:] if line.startswith("    ") else line for line in block.splitlines()]
    code = "\n".join(lines).strip() + "\n"
    expected = SLIDE.replace("from keras.", "from minikeras.")
    assert re.sub(r"\n\s*\n", "\n", code) == re.sub(r"\n\s*\n", "\n", expected)


def test_example_learns_and_round_trips(capsys):
    module = load_example()
    with pytest.warns(DeprecationWarning) as record:
        loss, accuracy = module.main()
    messages = sorted(str(w.message) for w in record)
    assert len(messages) == 3  # output_dim twice, nb_epoch once
    assert sum("`units`" in m for m in messages) == 2 and sum("`epochs`" in m for m in messages) == 1
    assert accuracy > 0.8, "ten classes: chance is 0.1"
    assert loss < 0.7
    out = capsys.readouterr().out
    assert "Epoch 5/5" in out and "test accuracy" in out and "predictions identical: True" in out
