"""A recording stand-in for the `docker` CLI, for running build_and_push.sh where no engine runs.

Each call is appended to $STAND_IN_DOCKER_LOG as one JSON line (argv, and stdin for `login`).
`push` speaks the real Registry V2 API: it PUTs a manifest for the pushed reference, so the
registry (the emulator's ECR) really holds the tag. Both tags of one local image get the same
manifest, hence the same digest, as with the real CLI. $STAND_IN_DOCKER_FAIL names a
subcommand to fail the way docker does (message on stderr, exit 1).
"""

import hashlib
import json
import os
import sys
import urllib.request
from pathlib import Path

LOG = Path(os.environ["STAND_IN_DOCKER_LOG"])
TAGS = LOG.with_suffix(".tags.json")  # remote reference -> local image it was tagged from
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def manifest_for(image: str) -> bytes:
    config = "sha256:" + hashlib.sha256(image.encode()).hexdigest()
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 0, "digest": config},
            "layers": [],
        },
        sort_keys=True,
    ).encode()


def push(reference: str) -> None:
    registry, _, rest = reference.partition("/")
    repository, _, tag = rest.rpartition(":")
    image = json.loads(TAGS.read_text())[reference]
    request = urllib.request.Request(
        f"http://{registry}/v2/{repository}/manifests/{tag}",
        data=manifest_for(image),
        method="PUT",
        headers={"Content-Type": MANIFEST_TYPE},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        print(f"{tag}: digest: {response.headers['Docker-Content-Digest']}")


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    entry = {"argv": argv}
    if command == "login":
        entry["stdin"] = sys.stdin.read()
    with LOG.open("a") as log:
        log.write(json.dumps(entry) + "\n")
    if command == os.environ.get("STAND_IN_DOCKER_FAIL"):
        print(f"Error response from daemon: {command} refused by the stand-in", file=sys.stderr)
        return 1
    if command == "tag":
        tags = json.loads(TAGS.read_text()) if TAGS.exists() else {}
        tags[argv[2]] = argv[1]
        TAGS.write_text(json.dumps(tags))
    elif command == "push":
        push(argv[1])
    elif command == "login":
        print("Login Succeeded")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
