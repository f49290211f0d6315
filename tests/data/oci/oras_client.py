#!/usr/bin/env python3
"""Push or pull a Wasm artifact with the oras Python client (PyPI `oras`), for tests/oci.rs.

usage:
  oras_client.py push REF FILE LAYER_MEDIA_TYPE CONFIG_FILE CONFIG_MEDIA_TYPE
  oras_client.py pull REF OUTDIR      (prints the files written, one a line)

Plain HTTP only: the test registries listen on 127.0.0.1.
"""
import os
import sys

import oras.client


def main(argv):
    if len(argv) < 4 or argv[1] not in ("push", "pull"):
        sys.exit(__doc__)
    cmd, ref = argv[1], argv[2]
    client = oras.client.OrasClient(hostname=ref.split("/", 1)[0], insecure=True)
    if cmd == "push":
        path, layer_type, config, config_type = argv[3:7]
        config = os.path.abspath(config)
        # oras names the layer after the file and wants it under the working directory.
        os.chdir(os.path.dirname(os.path.abspath(path)))
        client.push(
            target=ref,
            files=[f"{os.path.basename(path)}:{layer_type}"],
            manifest_config=f"{config}:{config_type}",
            disable_path_validation=True,
            quiet=True,
        )
    else:
        for f in client.pull(target=ref, outdir=argv[3]):
            print(f)


if __name__ == "__main__":
    main(sys.argv)
