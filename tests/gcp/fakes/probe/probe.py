"""A job for the fake Vertex AI: runs the actions given as arguments, in order.

Actions: ``out=TEXT`` / ``err=TEXT`` print a line to stdout / stderr; ``lines=N`` prints
``line 0`` .. ``line N-1`` to stdout; ``env=NAME`` prints ``NAME=value``; ``sleep=SECONDS``;
``put=BUCKET/OBJECT=TEXT`` uploads TEXT to the GCS JSON API at $STORAGE_EMULATOR_HOST with
the standard library; ``exit=CODE`` exits. SIGTERM prints ``terminated`` to stderr and
exits 143. Only the standard library: this runs in the bare base image.
"""

import os
import signal
import sys
import time
import urllib.parse
import urllib.request


def on_sigterm(signum: int, frame: object) -> None:
    print("terminated", file=sys.stderr, flush=True)
    sys.exit(143)


def put(target: str) -> None:
    path, _, text = target.partition("=")
    bucket, _, name = path.partition("/")
    query = urllib.parse.urlencode({"uploadType": "media", "name": name})
    url = f"{os.environ['STORAGE_EMULATOR_HOST']}/upload/storage/v1/b/{bucket}/o?{query}"
    request = urllib.request.Request(
        url, data=text.encode(), method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        print(f"uploaded gs://{bucket}/{name}: HTTP {response.status}", flush=True)


def main(actions: list[str]) -> None:
    signal.signal(signal.SIGTERM, on_sigterm)
    for action in actions:
        verb, _, value = action.partition("=")
        if verb == "out":
            print(value, flush=True)
        elif verb == "err":
            print(value, file=sys.stderr, flush=True)
        elif verb == "lines":
            for number in range(int(value)):
                print(f"line {number}", flush=True)
        elif verb == "env":
            print(f"{value}={os.environ.get(value, '')}", flush=True)
        elif verb == "sleep":
            time.sleep(float(value))
        elif verb == "put":
            put(value)
        elif verb == "exit":
            sys.exit(int(value))
        else:
            print(f"unknown action {action!r}", file=sys.stderr, flush=True)
            sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
