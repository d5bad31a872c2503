"""Writes a real scikit-learn iris classifier and its MLServer settings into a model repository.

Used by the local stack's `mlserver` service (a real Open Inference Protocol V2 server for the
end-to-end tests). The iris data ships with scikit-learn, so nothing is downloaded.
Usage: python mlserver-iris.py <repository-dir> <http-port>
"""
import json
import sys
from pathlib import Path

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

repo = Path(sys.argv[1])
port = int(sys.argv[2])
model_dir = repo / "iris-sklearn"
model_dir.mkdir(parents=True, exist_ok=True)
if not (model_dir / "model.joblib").exists():
    X, y = load_iris(return_X_y=True)
    joblib.dump(LogisticRegression(max_iter=500).fit(X, y), model_dir / "model.joblib")
(model_dir / "model-settings.json").write_text(
    json.dumps({"name": "iris-sklearn", "implementation": "mlserver_sklearn.SKLearnModel", "parameters": {"uri": "./model.joblib", "version": "1"}})
)
# parallel_workers 0: MLServer 1.7's worker pool breaks with current uvloop; one process is plenty here.
(repo / "settings.json").write_text(
    json.dumps({"http_port": port, "grpc_port": port + 1, "metrics_port": port + 2, "host": "127.0.0.1", "parallel_workers": 0})
)
