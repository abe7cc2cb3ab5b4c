"""moto's server on 127.0.0.1, patched as scripts/moto_patches.py says.

local_deploy.py starts it as `python -m scripts.moto_server --port N --parent PID`.
It binds the loopback address only, and it exits by itself once the process
that started it is gone, so a killed run cannot leave a server behind.
"""

from __future__ import annotations

import argparse
import os
import threading
import time

LOOPBACK = "127.0.0.1"
PARENT_POLL_SECONDS = 0.5


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--parent", type=int, required=True, help="exit when gone")
    args = parser.parse_args(argv)

    from moto.server import main as serve

    from scripts.moto_patches import patch_moto

    patch_moto()
    threading.Thread(target=_exit_with, args=(args.parent,), daemon=True).start()
    serve(["--host", LOOPBACK, "--port", str(args.port)])


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(0)


if __name__ == "__main__":
    main()
