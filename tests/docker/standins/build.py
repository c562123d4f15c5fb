"""Build the stand-in images for a machine with no registry, once: Debian bookworm (debootstrap) as
the base, then PostgreSQL 16, the Lambda python3.12 base, a python3.12 base and MiniStack 1.5.33.

    python tests/docker/standins/build.py      (root: debootstrap; DOCKER_HOST picks the engine)

Every image is tagged flow-builder-standin/..., never an official name, and labelled with a hash of
what it was built from: an image whose label matches is kept, so a second run builds nothing.
`stack_env()` is the settings that point docker-compose.yml at them.
"""
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PREFIX = "flow-builder-standin"
BASE = f"{PREFIX}/debian:bookworm"
POSTGRES = f"{PREFIX}/postgres:16"
LAMBDA = f"{PREFIX}/lambda-python:3.12"
PYTHON = f"{PREFIX}/python:3.12"
MINISTACK = f"{PREFIX}/ministack:1.5.33"
# MiniStack runs a zip function in the official base of its runtime, with MINISTACK_IMAGE_PREFIX in front.
LAMBDA_FOR_MINISTACK = f"{PREFIX}/public.ecr.aws/lambda/python:3.12"
HASH_LABEL = "org.flow-builder.standin-hash"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
CA = "/etc/ssl/certs/ca-certificates.crt"
PACKAGES = "libssl3 libffi8 libsqlite3-0 libreadline8 libncursesw6 ca-certificates"


def mirror() -> str:
    """The Debian mirror apt already uses (the only one this machine reaches)."""
    for line in Path("/etc/apt/sources.list.d/debian.sources").read_text().splitlines():
        if line.startswith("URIs:"):
            return line.split()[1]
    return "http://deb.debian.org/debian"


def pyenv_python(version: str) -> Path:
    root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True).stdout.strip()
    found = sorted(Path(root, "versions").glob(f"{version}.*"))
    if not found:
        sys.exit(f"standins: no CPython {version} under {root}/versions: pyenv install {version} and retry")
    return found[-1]


def docker(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], check=True, **kw)


def built_hash(image: str) -> str:
    result = subprocess.run(["docker", "image", "inspect", "-f", f'{{{{index .Config.Labels "{HASH_LABEL}"}}}}', image],
                            capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else ""


def digest(*paths: Path, extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for root in paths:
        for path in sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]:
            h.update(str(path.relative_to(root.parent)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def build_base() -> str:
    # The host's CA bundle: pip inside builds reaches PyPI through whatever TLS this machine trusts.
    key = digest(Path(__file__), HOST_CA, extra=PACKAGES)
    if built_hash(BASE) != key:
        with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
            rootfs = Path(tmp, "rootfs")
            print(f"standins: debootstrap bookworm from {mirror()} (about a minute)", flush=True)
            subprocess.run(["debootstrap", "--variant=minbase", f"--include={PACKAGES.replace(' ', ',')}",
                            "bookworm", str(rootfs), mirror()], check=True, stdout=subprocess.DEVNULL)
            shutil.copy(HOST_CA, rootfs / "etc/ssl/certs/ca-certificates.crt")
            tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
            docker("import", "--change", f"LABEL {HASH_LABEL}={key}",
                   "--change", f"ENV PIP_CERT={CA} SSL_CERT_FILE={CA}", "-", BASE, stdin=tar.stdout,
                   stdout=subprocess.DEVNULL)
            if tar.wait():
                sys.exit("standins: tar of the debootstrap root failed")
    return key


def wheels(dest: Path, python: str, *requirements: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
                    "--python-version", python, "--platform", "manylinux2014_x86_64",
                    "--platform", "manylinux_2_28_x86_64", "-d", str(dest), *requirements], check=True)


def copy_python(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, symlinks=True, ignore=shutil.ignore_patterns("test", "tests", "__pycache__", "idlelib"))


def build(image: str, name: str, base_key: str, stage, *aliases: str) -> None:
    """Build HERE/name as image with the base, unless an image of the same inputs exists."""
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        context = Path(tmp, name)
        shutil.copytree(HERE / name, context)
        extra = stage(context) or ""
        key = digest(HERE / name, extra=base_key + extra)
        if built_hash(image) == key:
            print(f"standins: {image} is up to date", flush=True)
        else:
            print(f"standins: building {image} (STAND-IN, not an official image)", flush=True)
            docker("build", "-q", "--build-arg", f"BASE_IMAGE={BASE}", "--label", f"{HASH_LABEL}={key}",
                   "-t", image, str(context), stdout=subprocess.DEVNULL)
    for alias in aliases:
        docker("tag", image, alias)


def stage_postgres(context: Path) -> str:
    import pgserver  # the wheel's PostgreSQL 16

    pginstall = Path(pgserver.__file__).parent / "pginstall"
    shutil.copytree(pginstall, context / "pginstall", symlinks=True)
    libs = Path(pgserver.__file__).parent.parent / "pgserver.libs"
    # auditwheel's vendored libpq, found by the tools' RPATH $ORIGIN/../../../pgserver.libs
    shutil.copytree(libs, context / "pgserver.libs")
    return pgserver.__file__ + str(sorted(p.name for p in libs.glob("*")))


def stage_python(version: str, *requirements: str):
    def stage(context: Path) -> str:
        src = pyenv_python(version)
        copy_python(src, context / "python")
        (context / "wheels").mkdir()
        if requirements:
            wheels(context / "wheels", version, *requirements)
        return src.name + str(sorted(p.name for p in (context / "wheels").iterdir()))
    return stage


def main() -> None:
    base_key = build_base()
    build(POSTGRES, "postgres", base_key, stage_postgres)
    build(LAMBDA, "lambda-python", base_key, stage_python("3.12", "awslambdaric==3.1.1"), LAMBDA_FOR_MINISTACK)
    build(PYTHON, "python", base_key, stage_python("3.12"))
    build(MINISTACK, "ministack", base_key, stage_python("3.13", "ministack[full]==1.5.33", "boto3", "docker"))


def stack_env() -> dict[str, str]:
    """docker-compose.yml's image settings for the stand-ins."""
    return {
        "POSTGRES_IMAGE": POSTGRES,
        "LAMBDA_BASE_IMAGE": LAMBDA,
        "DASHBOARD_BASE_IMAGE": PYTHON,
        "MINISTACK_IMAGE": MINISTACK,
        "MINISTACK_IMAGE_PREFIX": PREFIX,
    }


if __name__ == "__main__":
    main()
