"""`python -m sandbox` (`make sandbox`): the simulators, the AWS emulator and this project's API, until Ctrl-C.

Both functions run behind API Gateway on loopback (HTTPS with the sandbox's CA), as `template.yaml` deploys them.
The output is shell: `export` lines for the README's examples (`API_URL`, `SIGNING_SECRET`, the CA bundle for
requests and curl) and for running the handlers directly (the functions' environment), then the button's URL.
A line `# sandbox ready` ends it, for scripts that start the sandbox and wait for it.
"""

from __future__ import annotations

import os
import shlex
import signal
import threading

from .api_gateway import LocalApiGateway, deployed_routes
from .demo_data import PASSWORD, REP, seed_button_data, seed_demo_data
from .invoke import load_handler
from .stack import SIGNING_SECRET, Sandbox

READY = "# sandbox ready"


def main() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    with Sandbox() as sandbox, sandbox.aws_environment():
        seed_demo_data(sandbox)
        button = seed_button_data(sandbox)
        checkout, send_to_zuora = load_handler("checkout"), load_handler("send_to_zuora")
        with LocalApiGateway(deployed_routes(checkout, send_to_zuora), ssl_context=sandbox.ca.server_context()) as api:
            bundle = str(sandbox.ca.bundle_path)
            exports = {
                "API_URL": api.url,
                "SIGNING_SECRET": SIGNING_SECRET,
                "CURL_CA_BUNDLE": bundle,
                **sandbox.environ(),
            }
            print("# The sandbox is running. In another shell, paste these, then run the README's examples:")
            for name, value in exports.items():
                print(f"export {name}={shlex.quote(value)}")
            domain = f"127.0.0.1:{sandbox.salesforce.port}"
            print(f"# Salesforce {sandbox.salesforce.url}  Zuora {sandbox.zuora.url}  AWS {sandbox.aws_endpoint}")
            print(f"# Send to Zuora button (sign in as {REP} / {PASSWORD}; the browser must trust {bundle}):")
            print(f"#   {api.url}/sfdccpq?sfdc={domain}&accountId={button.account_id}")
            print(f"#   {api.url}/sfdccpq?sfdc={domain}&orderId={button.order_id}")
            print('# Fault injection: POST <simulator>/__sandbox/faults  {"path": "^/v1/orders$", "status": 503}')
            print(READY, flush=True)
            stop.wait()
    print("# sandbox stopped", flush=True)


if __name__ == "__main__":
    main()
