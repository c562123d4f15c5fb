"""Build a Lambda zip: a function's Python packages plus its pinned requirements (FUNCTIONS; default the scheduler).

The same code the image carries, for emulators that run zip functions:
- default: dependencies for this interpreter (MiniStack runs zip Lambdas with the host Python);
- --platform manylinux2014_x86_64|manylinux_2_28_aarch64: dependencies for the real Lambda
  runtime (python3.12), as LocalStack Community needs.

Dependencies are cached per hash of requirements.txt and target, so a rebuild is quick, and the
zip is byte-for-byte reproducible, so the deploy sees unchanged code as unchanged; a zip already made of the
same inputs (its comment says which) is left as it is.

    python scheduler_lambda/package_zip.py [--function scheduler|worker] [--platform P] [--output PATH]
        [--package DIR ...] [--requirements FILE]     (any other packages and pins instead)
"""

import argparse
import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
REQUIREMENTS = HERE / "requirements.txt"
COMMON = REPO / "lambda_common" / "flow_common"
# What each function's zip holds: the packages its handler imports and its pins. The one place it is said:
# make up, make watch, make deploy and the tests build from it (tests/stack/test_zip_contents.py lists them).
FUNCTIONS = {
    "scheduler": ((HERE / "flow_scheduler", COMMON), REQUIREMENTS),
    "worker": ((REPO / "worker_lambda" / "flow_worker", COMMON), REPO / "worker_lambda" / "requirements.txt"),
}
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_aarch64")  # psycopg2-binary has no manylinux2014 aarch64 wheel
LAMBDA_PYTHON = "3.12"
# Fixed entry time (the zip format starts in 1980) so equal inputs give equal bytes.
_EPOCH = (1980, 1, 1, 0, 0, 0)
_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = (".pyc", ".pyo")


class BuildError(RuntimeError):
    """The zip could not be built; the message names the step and what to do."""


def target_name(platform: str | None) -> str:
    return platform or f"host-py{sys.version_info.major}{sys.version_info.minor}"


def default_output(platform: str | None, function: str = "scheduler") -> Path:
    return REPO / ".stack" / "build" / f"flow-builder-{function}-{target_name(platform)}.zip"


def install_dependencies(platform: str | None, cache_root: Path, requirements: Path = REQUIREMENTS) -> Path:
    """Install a requirements file into a cached folder keyed by its content and the target; return it."""
    try:
        pins = requirements.read_bytes()
    except OSError as err:
        raise BuildError(
            f"--requirements {requirements} cannot be read ({err.strerror}): name a pinned requirements file"
        ) from None
    key = hashlib.sha256(pins + target_name(platform).encode()).hexdigest()[:16]
    target = cache_root / f"deps-{target_name(platform)}-{key}"
    done = target / ".complete"
    if done.exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--target", str(target), "-r", str(requirements),
    ]  # fmt: skip
    if platform:
        command += [
            "--platform",
            platform,
            "--python-version",
            LAMBDA_PYTHON,
            "--only-binary=:all:",
            "--implementation",
            "cp",
        ]
    print(f"package_zip: installing {requirements.name} for {target_name(platform)} (cached for next time)", flush=True)
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        detail = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise BuildError(
            f"pip could not install {requirements} for {target_name(platform)}: {detail}; "
            f"check the network or registry (pip config) and retry"
        )
    done.touch()
    return target


def _files(root: Path, prefix: str = "") -> list[tuple[str, Path]]:
    entries = []
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if (
            path.is_dir()
            or _SKIP_DIRS & set(relative.parts)
            or path.suffix in _SKIP_SUFFIXES
            or path.name == ".complete"
        ):
            continue
        entries.append((prefix + relative.as_posix(), path))
    return entries


def package_entries(packages: list[Path]) -> list[tuple[str, Path]]:
    """The zip entries of Python package folders, each under its own name."""
    entries = []
    for package in packages:
        if not (package / "__init__.py").is_file():
            raise BuildError(f"--package {package} is not a Python package (no __init__.py): name a package folder")
        entries += _files(package, package.name + "/")
    return entries


def add_entries(archive: zipfile.ZipFile, entries: list[tuple[str, Path]]) -> None:
    for name, path in sorted(entries):
        info = zipfile.ZipInfo(name, _EPOCH)
        info.compress_type = zipfile.ZIP_DEFLATED
        # Keep the executable bit (some wheels ship helper binaries); everything readable.
        info.external_attr = (0o755 if path.stat().st_mode & 0o111 else 0o644) << 16
        archive.writestr(info, path.read_bytes())


def inputs_digest(dependencies: Path, own: list[tuple[str, Path]]) -> bytes:
    """What a zip is made of, as the comment it carries: the dependency folder (immutable once complete, its
    name is the hash of the pins and the target) and each package file's name, mode and bytes."""
    digest = hashlib.sha256(dependencies.name.encode())
    for name, path in sorted(own):
        digest.update(f"\0{name}\0{path.stat().st_mode & 0o111:o}\0".encode())
        digest.update(path.read_bytes())
    return b"inputs sha256:" + digest.hexdigest().encode()


def _comment(output: Path) -> bytes | None:
    try:
        with zipfile.ZipFile(output) as archive:
            return archive.comment
    except (OSError, zipfile.BadZipFile):
        return None


def write_zip(output: Path, dependencies: Path, own: list[tuple[str, Path]]) -> bool:
    """Write the zip of the dependencies and the packages' entries (`own`) unless the one at `output` was made
    of the same inputs (deflating ~50 MB of dependencies is the slow part of `make up`); True if it was written."""
    stamp = inputs_digest(dependencies, own)
    if _comment(output) == stamp:
        return False
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        add_entries(archive, _files(dependencies) + own)
        archive.comment = stamp
    partial.replace(output)
    return True


def build(
    platform: str | None = None,
    output: Path | None = None,
    packages: list[Path] | None = None,
    requirements: Path | None = None,
    function: str = "scheduler",
) -> tuple[Path, bool]:
    """The zip of `function` (FUNCTIONS), or of the packages and requirements given instead, and whether it
    was written (False: the zip there already holds these inputs)."""
    if platform is not None and platform not in PLATFORMS:
        raise BuildError(f"--platform {platform!r} is not supported: use one of {', '.join(PLATFORMS)}")
    if function not in FUNCTIONS:
        raise BuildError(f"--function {function!r} is not a function: use one of {', '.join(FUNCTIONS)}")
    own_packages, own_requirements = FUNCTIONS[function]
    output = Path(output) if output else default_output(platform, function)
    own = package_entries([Path(p) for p in packages or own_packages])  # a folder that is no package: before pip
    dependencies = install_dependencies(platform, output.parent / "cache", Path(requirements or own_requirements))
    written = write_zip(output, dependencies, own)
    return output, written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--platform", choices=PLATFORMS, help="build for the Lambda runtime (python3.12) on this platform"
    )
    parser.add_argument(
        "--output", type=Path, help="zip path (default: .stack/build/flow-builder-<function>-<target>.zip)"
    )
    parser.add_argument(
        "--function", choices=FUNCTIONS, default="scheduler", help="whose packages and pins (default: scheduler)"
    )
    parser.add_argument(
        "--package", type=Path, action="append", help="a package folder to include instead (repeatable)"
    )
    parser.add_argument("--requirements", type=Path, help="pinned requirements instead of the function's")
    args = parser.parse_args(argv)
    try:
        output, written = build(args.platform, args.output, args.package, args.requirements, args.function)
    except BuildError as err:
        print(f"package_zip: {err}", file=sys.stderr)
        return 1
    done = "wrote" if written else "unchanged:"
    print(f"package_zip: {done} {output} ({output.stat().st_size // 1024} KiB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
