"""An example model builder for `model.builder: example_models:build` (digits_builder.yaml).

A builder is any function `build(params, input_shape, n_outputs) -> keras.Model` that
returns an uncompiled model with one input of `input_shape` and `n_outputs` logits. The
tool calls it in every trial inside its HGQ2 quantizer scopes, with the trial's resolved
parameters: the built-in ones (beta, learning_rate, ...) and the space's own (here `width`
and `n_hidden`). Plain Keras layers are converted to HGQ2 layers (Dense -> QDense, ...);
HGQ2 layers created here get the tool's quantizers. Import Keras inside the function: the
search's driver reads this module without importing TensorFlow.
"""


def build(params, input_shape, n_outputs):
    """An MLP on the flattened input: `n_hidden` Dense(`width`, relu) layers, then the logits."""
    import keras

    inputs = keras.Input(input_shape, name="features")
    h = keras.layers.Flatten(name="flatten")(inputs)
    for i in range(1, int(params.get("n_hidden", 1)) + 1):
        h = keras.layers.Dense(int(params["width"]), activation="relu", name=f"hidden{i}")(h)
    outputs = keras.layers.Dense(n_outputs, name="logits")(h)
    return keras.Model(inputs, outputs, name="example_mlp")
