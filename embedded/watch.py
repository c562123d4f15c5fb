"""`make watch`: a saved file under a function's package becomes that function's running code in seconds.

It polls the packages' files (package_zip.py's FUNCTIONS says which packages each zip holds) (mtime and size; two packages of a few dozen files, so a poll costs
microseconds and needs no watcher library). On a change it updates only the functions whose zip holds the
changed package, by update-function-code with a zip made of package_zip.py's cached dependencies (deflated
once when the watch starts) and the packages as they are now. The stack is not redeployed: settings and
template changes still need `make up`.
"""

import importlib.util
import io
import time
import zipfile
from pathlib import Path

from embedded.stack import REPO, ZIPS
from stackview.settings import aws_clients

POLL_SECONDS = 0.3
UPDATE_SECONDS = 60


class WatchError(RuntimeError):
    """An update did not take; the message names the function and where to look."""


def _package_zip(repo: Path):
    spec = importlib.util.spec_from_file_location("package_zip", repo / "scheduler_lambda" / "package_zip.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def packages_of(variable: str, repo: Path = REPO) -> list[str]:
    """The packages (repository paths) the zip of a ZIPS variable holds."""
    packages, _ = _package_zip(repo).FUNCTIONS[ZIPS[variable][1]]
    return [package.relative_to(repo.resolve()).as_posix() for package in packages]


def snapshot(repo: Path, packages: list[str]) -> dict[str, tuple[int, int]]:
    """Every source file of the packages: repository path -> (mtime_ns, size)."""
    files = {}
    for package in packages:
        for path in (repo / package).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
                stat = path.stat()
                files[path.relative_to(repo).as_posix()] = (stat.st_mtime_ns, stat.st_size)
    return files


def changed(before: dict, after: dict) -> set[str]:
    """Paths added, removed or modified between two snapshots."""
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


def affected(paths: set[str]) -> list[str]:
    """The zip variables (ZIPS keys) whose zip holds one of the changed paths, in ZIPS order."""
    return [
        variable
        for variable in ZIPS
        if any(path.startswith(package + "/") for path in paths for package in packages_of(variable))
    ]


class Watcher:
    def __init__(self, settings: dict[str, str], repo: Path = REPO):
        self.settings = settings
        self.repo = repo
        self.package_zip = _package_zip(repo)
        (self.lam,) = aws_clients(settings, "lambda")
        self.dependencies: dict[str, bytes] = {}

    def _dependencies_zip(self, variable: str) -> bytes:
        """A zip of the function's cached dependencies, deflated once per watch: the slow part of a build
        (~50 MB), so an update only appends the packages to a copy of it."""
        if variable not in self.dependencies:
            _, requirements = self.package_zip.FUNCTIONS[ZIPS[variable][1]]
            folder = self.package_zip.install_dependencies(None, self.repo / ".stack" / "build" / "cache", requirements)
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                self.package_zip.add_entries(archive, self.package_zip._files(folder))
            self.dependencies[variable] = buffer.getvalue()
        return self.dependencies[variable]

    def code(self, variable: str) -> bytes:
        """The function's zip: its cached dependencies and its packages as they are now on disk."""
        packages = [self.repo / package for package in packages_of(variable, self.repo)]
        buffer = io.BytesIO(self._dependencies_zip(variable))
        with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
            self.package_zip.add_entries(archive, self.package_zip.package_entries(packages))
        return buffer.getvalue()

    def update(self, variable: str, say) -> None:
        """Make the packages on disk the function's code, and return once the emulator runs it."""
        name = ZIPS[variable][0]
        started = time.monotonic()
        self.lam.update_function_code(FunctionName=name, ZipFile=self.code(variable))
        deadline = started + UPDATE_SECONDS
        while (status := self.lam.get_function_configuration(FunctionName=name).get("LastUpdateStatus")) == "InProgress":
            if time.monotonic() > deadline:
                raise WatchError(f"{name}: the emulator was still updating its code after {UPDATE_SECONDS}s: see `make logs`")
            time.sleep(0.1)
        if status == "Failed":
            raise WatchError(f"{name}: the emulator refused the new code: see `make logs`")
        say(f"watch: {name} runs the new code ({time.monotonic() - started:.1f}s after the change was seen)")

    def run(self, say, polls: int | None = None) -> None:
        """Poll until interrupted (or `polls` times, for tests)."""
        packages = sorted({p for variable in ZIPS for p in packages_of(variable, self.repo)})
        before = snapshot(self.repo, packages)
        for variable in ZIPS:
            self._dependencies_zip(variable)
        say(f"watch: watching {', '.join(packages)}; Ctrl-C stops (settings and template changes need `make up`)")
        while polls is None or polls > 0:
            time.sleep(POLL_SECONDS)
            after = snapshot(self.repo, packages)
            paths = changed(before, after)
            before = after
            for variable in affected(paths):
                say(f"watch: {', '.join(sorted(paths))} changed: updating {ZIPS[variable][0]}")
                try:
                    self.update(variable, say)
                except (WatchError, self.package_zip.BuildError) as err:
                    say(f"watch: {err}; still watching")
            if polls is not None:
                polls -= 1
