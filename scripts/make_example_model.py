"""Write search_spaces/digits_float_cnn.keras: a small plain (float) Keras CNN trained on
scikit-learn's 8x8 digits, the model file of search_spaces/digits_file.yaml.

    python scripts/make_example_model.py

It stands for the model a user brings: plain Keras layers (Conv2D, MaxPooling2D, Dense)
and a final softmax, which the tool converts to HGQ2 (and drops the softmax).
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

OUT = Path(__file__).resolve().parents[1] / "search_spaces" / "digits_float_cnn.keras"


def main() -> None:
    import keras
    import numpy as np
    from sklearn.datasets import load_digits

    keras.utils.set_random_seed(0)
    digits = load_digits()
    x, y = (digits.images / 16.0).astype(np.float32), digits.target
    model = keras.Sequential(
        [
            keras.Input((8, 8), name="pixels"),
            keras.layers.Reshape((8, 8, 1), name="image"),
            keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
            keras.layers.MaxPooling2D(2, name="pool"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(16, activation="relu", name="hidden"),
            keras.layers.Dense(10, activation="softmax", name="classes"),
        ],
        name="digits_float_cnn",
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=15, batch_size=32, validation_split=0.2, verbose=0)
    print(f"val accuracy {model.evaluate(x[-360:], y[-360:], verbose=0)[1]:.3f}")
    model.save(OUT)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
