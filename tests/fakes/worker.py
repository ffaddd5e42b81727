"""A training worker that speaks the protocol without Keras, for testing the session: ``python -m tests.fakes.worker``.

Says ready after ``FAKE_IMPORT_SECONDS`` (TensorFlow's import, simulated), takes one job, then runs
``config.epochs`` epochs of 5 batches, ``FAKE_BATCH_SECONDS`` each (the first epoch ``FAKE_FIRST_EPOCH_SLOWDOWN``
times slower, as a real first epoch compiles), honouring ``stop``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

from engine.protocol import Batch, Done, Epoch, Ready, Started, encode


def main() -> int:
    time.sleep(float(os.environ.get("FAKE_IMPORT_SECONDS", "0.5")))
    print(encode(Ready("CPU")), flush=True)
    line = sys.stdin.readline()
    if not line:
        return 0
    config = json.loads(line)["config"]
    stop = threading.Event()

    def watch() -> None:
        for text in sys.stdin:
            if text.strip() == "stop":
                stop.set()
        stop.set()

    threading.Thread(target=watch, daemon=True).start()
    batch_seconds = float(os.environ.get("FAKE_BATCH_SECONDS", "0.02"))
    slowdown = float(os.environ.get("FAKE_FIRST_EPOCH_SLOWDOWN", "1"))
    epochs, steps = config["epochs"], 5
    print(encode(Started(epochs, steps, 500, 10, "fake digits", "sparse_categorical_crossentropy", 1234)), flush=True)
    history = []
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        begin = time.perf_counter()
        for batch in range(1, steps + 1):
            time.sleep(batch_seconds * (slowdown if epoch == 1 else 1))
            print(encode(Batch(epoch, batch, steps, 1.0 / epoch, 0.5, time.perf_counter() - begin)), flush=True)
            if stop.is_set():
                break
        row = {"epoch": epoch, "loss": 1.0 / epoch, "accuracy": 0.5, "val_loss": 1.0 / epoch, "val_accuracy": 0.5,
               "seconds": time.perf_counter() - begin}
        history.append(row)
        print(encode(Epoch(**row)), flush=True)
        if stop.is_set():
            break
    print(encode(Done(stop.is_set(), len(history), time.perf_counter() - started, history, val_accuracy=0.5)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
