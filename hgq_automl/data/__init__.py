"""Datasets: scikit-learn's digits and diabetes (ship offline); and a user's own files, read
alike by `mnist` (also idx files; N x height x width images), `tabular` (N x features,
standardized) and `arrays` (any feature shape): .npy pairs, .npz, HDF5, CSV, parquet, split
at random or in fixed train[/val]/test files (a folder of them: space/folders.py), the
validation set carved out of train when no val file is given.

Everything is loaded once, in the driver, and split with a fixed seed into train,
validation and test sets (stratified by class for classification), so every trial of a
search sees the same split. Labels are made to fit the task: class indices 0..K-1 for
classification, float targets N x k for regression. A file that cannot be read, or data
that cannot be used, is a one-line `UsageError` naming the file.

The modules, in the order data flows through them:

- `loading`: `load_dataset`, the dataset a space names; `memory`: `from_memory`, the
  Python API's arrays;
- `shipped`: digits, diabetes, MNIST idx files; `readers`: a user's files;
- `checks`: what every source of samples must satisfy; `labels`: labels made to fit the task;
- `splitting`: train / validation / test, standardization; `splits`: `Splits`, its fingerprint;
- `feeding`: `model.fit`'s data arguments per Keras backend.

Everything other modules use is re-exported here: `from hgq_automl.data import X`.
"""

from .checks import FLOAT32_MAX
from .feeding import batches, fit_arguments
from .loading import load_dataset
from .memory import from_memory, is_in_memory
from .readers import _npy, _reading  # model_file reads its --data samples with these
from .splits import TASKS, Splits, fingerprint
from .splitting import split

