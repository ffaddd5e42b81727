"""The training worker process: ``python -m engine.worker``.

It imports TensorFlow first and says ``ready`` (so the editor can start one in advance: a *warm* worker),
then reads one JSON line from stdin: ``{"project": {...}, "config": {...}, "model_path": "..." | null}``,
and trains, writing one `engine.protocol` message per line to stdout. A later ``stop`` line on stdin ends
training after the current batch. The last message is ``done`` or ``error``. When stdin closes (the
editor quit, or was killed) before a job arrives, the worker exits.
"""

from __future__ import annotations

import json
import os
import sys
import threading

#: A request is one design and its settings: far below this.
MAX_REQUEST_BYTES = 256 * 1024 * 1024


def main() -> int:
    from engine.protocol import Failed, Message, Ready, encode
    from engine.training import device_name, import_keras_quietly, worker_main

    # Training takes every core; a lower scheduling priority lets the editor (which launched this
    # process) run first when it needs the CPU, so drawing and editing never wait on training.
    if hasattr(os, "nice"):
        try:
            os.nice(10)
        except OSError:
            pass
    stop = threading.Event()
    lock = threading.Lock()

    def emit(message: Message) -> None:
        with lock:
            sys.stdout.write(encode(message) + "\n")
            sys.stdout.flush()

    import_keras_quietly()  # the slow part, done before any job arrives
    emit(Ready(device_name()))
    line = sys.stdin.readline(MAX_REQUEST_BYTES)
    if not line:
        return 0  # the editor went away while this worker waited: nothing to do
    try:
        request = json.loads(line)
    except (ValueError, RecursionError):
        request = None
    if (
        not isinstance(request, dict)
        or not isinstance(request.get("project"), dict)
        or not isinstance(request.get("config"), dict)
        or not isinstance(request.get("model_path"), (str, type(None)))
    ):
        emit(Failed("the worker received no valid request (expected {project, config, model_path})", True))
        return 2

    def watch_stdin() -> None:
        for line in sys.stdin:
            if line.strip() == "stop":
                stop.set()
        stop.set()  # the editor went away: stop too

    threading.Thread(target=watch_stdin, daemon=True).start()

    class Queue:
        put = staticmethod(emit)

    worker_main(request["project"], request["config"], Queue, stop, request.get("model_path"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
