"""A small real ML pipeline: synthetic data -> split -> logistic regression -> metrics.

Run it with ``flowyml run examples/ml_pipeline.py`` (or ``python examples/ml_pipeline.py``).
Only numpy is needed.
"""

from __future__ import annotations

import numpy as np

from flowyml import Context, Pipeline, step


@step(outputs=["features", "labels"])
def make_data(n_samples: int, n_features: int, seed: int):
    """Two Gaussian blobs whose labels follow a hidden linear rule, with noise."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n_samples, n_features))
    true_weights = rng.normal(size=n_features)
    logits = features @ true_weights + 0.25 * rng.normal(size=n_samples)
    labels = (logits > 0).astype(np.float64)
    print(f"generated {n_samples} samples with {n_features} features")
    return features, labels


@step(
    inputs=["features", "labels"],
    outputs=["train_x", "train_y", "test_x", "test_y"],
)
def split(features, labels, test_fraction: float, seed: int):
    """A shuffled train/test split."""
    rng = np.random.default_rng(seed + 1)
    order = rng.permutation(len(labels))
    cut = int(len(labels) * (1 - test_fraction))
    train, test = order[:cut], order[cut:]
    return features[train], labels[train], features[test], labels[test]


@step(inputs=["train_x", "train_y"], outputs=["model"])
def train(train_x, train_y, learning_rate: float, epochs: int):
    """Logistic regression by full-batch gradient descent."""
    weights = np.zeros(train_x.shape[1])
    bias = 0.0
    for _ in range(epochs):
        predictions = 1.0 / (1.0 + np.exp(-(train_x @ weights + bias)))
        error = predictions - train_y
        weights -= learning_rate * (train_x.T @ error) / len(train_y)
        bias -= learning_rate * float(error.mean())
    return {"weights": weights.tolist(), "bias": bias}


@step(inputs=["model", "test_x", "test_y"], outputs=["metrics"])
def evaluate(model, test_x, test_y):
    """Accuracy, precision, recall and log loss on the held-out set."""
    weights = np.asarray(model["weights"])
    probabilities = 1.0 / (1.0 + np.exp(-(test_x @ weights + model["bias"])))
    predicted = (probabilities >= 0.5).astype(np.float64)
    true_positive = float(((predicted == 1) & (test_y == 1)).sum())
    eps = 1e-12
    return {
        "accuracy": float((predicted == test_y).mean()),
        "precision": true_positive / max(float(predicted.sum()), 1.0),
        "recall": true_positive / max(float(test_y.sum()), 1.0),
        "log_loss": float(
            -np.mean(
                test_y * np.log(probabilities + eps)
                + (1 - test_y) * np.log(1 - probabilities + eps)
            )
        ),
        "test_samples": len(test_y),
    }


@step(inputs=["metrics"], outputs=["report"])
def report(metrics):
    """A human-readable report."""
    lines = [
        f"{name:>12}: {value:.4f}" if isinstance(value, float) else f"{name:>12}: {value}"
        for name, value in metrics.items()
    ]
    text = "model report\n" + "\n".join(lines)
    print(text)
    return text


pipeline = Pipeline(
    "ml-demo",
    steps=[make_data, split, train, evaluate, report],
    context=Context(
        n_samples=2000, n_features=8, seed=7, test_fraction=0.25, learning_rate=0.5, epochs=300
    ),
)

if __name__ == "__main__":
    run = pipeline.run()
    print(run.outputs["report"] if run.success else f"run failed: {run.error}")
