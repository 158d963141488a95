"""Developer sessions: `nox -s tests`, `nox -s lint`, `nox -s tests-postgres`, `nox -s tests-lowest`.

Every session installs torch through constraints-cpu.txt (the CPU wheel), so no CUDA build is pulled.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

CONSTRAINTS = ["-c", "constraints-cpu.txt"]


def install(session, extras="all"):
    session.install(*CONSTRAINTS, "torch")
    session.install(*CONSTRAINTS, "-e", f".[{extras}]")


@nox.session
def tests(session):
    """Run the test suite (CPU): `nox -s tests -- -k tfidf` passes arguments to pytest."""
    install(session)
    session.run("pytest", "-q", *session.posargs, env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})


@nox.session(name="tests-postgres")
def tests_postgres(session):
    """The PostgreSQL-storage tests against a real, throwaway server on 127.0.0.1.

    scripts/with_postgres.sh installs Debian's postgresql when missing (as root), starts a cluster
    in a temporary folder, exports MATHCLS_TEST_POSTGRES_URL, runs pytest and stops the server.
    """
    install(session)
    session.run(
        "bash", "scripts/with_postgres.sh", "pytest", "-q", "-m", "postgres", *session.posargs,
        env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}, external=True,
    )


@nox.session(name="tests-lowest", reuse_venv=False)  # a reused one keeps newer versions it once had
def tests_lowest(session):
    """The fast tests (`-m "not slow"`) with the lowest version pyproject.toml allows of every direct
    dependency (uv's `--resolution lowest-direct`), so its floors are true.

    torch stays the CPU wheel of constraints-cpu.txt (PyPI's torch wheels are CUDA builds); its
    floor is read from the code instead (torch.amp.GradScaler).
    """
    session.install(*CONSTRAINTS, "torch")
    session.install("uv>=0.4")
    session.run("uv", "pip", "install", "--python", session.virtualenv.location, "--resolution", "lowest-direct",
                *CONSTRAINTS, "-e", ".[neural,postgres,dev]")
    session.run("uv", "pip", "list", "--python", session.virtualenv.location)
    session.run("pytest", "-q", "-m", "not slow", *session.posargs,
                env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})


@nox.session
def lint(session):
    """ruff on the package, tests and scripts."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", "mathcls", "tests", "experiments", "noxfile.py")
