"""`python -m sandbox` (`make sandbox`): run the simulators and the AWS emulator until Ctrl-C."""

from __future__ import annotations

import shlex
import signal
import threading

from .stack import Sandbox


def main() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Sandbox() as sandbox:
        print("Sandbox running. Point a shell at it with:")
        for name, value in sandbox.environ().items():
            print(f"export {name}={shlex.quote(value)}")
        print(f"# Salesforce {sandbox.salesforce.url}  Zuora {sandbox.zuora.url}  AWS {sandbox.aws_endpoint}")
        print('# Fault injection: POST <simulator>/__sandbox/faults  {"path": "^/v1/orders$", "status": 503}')
        stop.wait()
    print("Sandbox stopped.")


if __name__ == "__main__":
    main()
