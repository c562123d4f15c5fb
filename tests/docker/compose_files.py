"""Read docker-compose.yml and its emulator flavours the way Compose interpolates them."""

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
EMULATORS = REPO / "docker-compose.emulators.yml"
TERRAFORM = REPO / "docker-compose.terraform.yml"  # added by the Makefile when IAC=terraform
FILES = (COMPOSE, EMULATORS, TERRAFORM)

# ${NAME}, ${NAME:-default} or ${NAME-default}; `$$` is a literal dollar sign.
VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?-)(?P<default>[^}]*))?\}")
ESCAPED = "$$"


def load(path: Path = COMPOSE) -> dict:
    return yaml.safe_load(path.read_text())


def variables(path: Path) -> dict[str, str | None]:
    """Every variable the file interpolates, with its default (None when it has none)."""
    found = {}
    for match in VARIABLE.finditer(path.read_text()):
        found.setdefault(match["name"], match["default"] if match["op"] else None)
    return found


def with_defaults(value):
    """The value Compose would use with no variable set."""
    if isinstance(value, str):
        return VARIABLE.sub(lambda match: match["default"] or "", value)
    if isinstance(value, list):
        return [with_defaults(item) for item in value]
    if isinstance(value, dict):
        return {key: with_defaults(item) for key, item in value.items()}
    return value


def emulator_service(flavour: str) -> dict:
    """The emulator service with its flavour merged in, as `extends` does (defaults applied)."""
    base = load(EMULATORS)["services"][flavour]
    service = {key: value for key, value in load()["services"]["emulator"].items() if key != "extends"}
    merged = {**base, **service}
    merged["environment"] = {**base.get("environment", {}), **service.get("environment", {})}
    merged["volumes"] = base.get("volumes", []) + service.get("volumes", [])
    return with_defaults(merged)
