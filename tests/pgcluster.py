"""A throwaway PostgreSQL cluster from Debian's server packages, for the end-to-end test:
initdb into a temporary directory, a server on 127.0.0.1 (and a Unix socket in that
directory) only, trust authentication, stopped and deleted at the end.

PostgreSQL refuses to run as root: as root (CI), the server runs as the `postgres` user the
Debian packages create. `why_not()` says in one line what is missing, for a skip.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Debian's layout (postgresql-NN); PG_BINDIR overrides it.
BINDIR_GLOB = "/usr/lib/postgresql/*/bin"
INSTALL_HINT = "`make e2e` installs them with apt-get (Debian's postgresql package)"


def bindir() -> Path | None:
    """The newest server's bin directory with initdb and pg_ctl, or None."""
    if os.environ.get("PG_BINDIR"):
        candidates = [os.environ["PG_BINDIR"]]
    else:
        candidates = sorted(glob.glob(BINDIR_GLOB),
                            key=lambda p: int(Path(p).parent.name) if Path(p).parent.name
                            .isdigit() else 0, reverse=True)
    for path in candidates:
        if all((Path(path) / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return Path(path)
    return None


def server_user() -> pwd.struct_passwd | None:
    """Who runs the server: this user, or `postgres` when this is root."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        return None


def why_not() -> str | None:
    """One line on why no cluster can start here, or None."""
    if bindir() is None:
        return (f"PostgreSQL server binaries not found ({BINDIR_GLOB}/initdb; or set "
                f"PG_BINDIR): {INSTALL_HINT}")
    if server_user() is None:
        return ("running as root and there is no `postgres` user to run the server as "
                f"(PostgreSQL refuses root): {INSTALL_HINT}")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without `runuser` to start the server as `postgres`"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Cluster:
    """A running cluster: connect as `user` (no password) to `database` on host:port."""

    root: Path
    port: int
    user: str = "postgres"
    database: str = "postgres"
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"


def _as_server_user(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


def start() -> Cluster:
    """initdb and start a cluster; raises RuntimeError with the server's log if it fails."""
    tools, owner = bindir(), server_user()
    if tools is None or owner is None:
        raise RuntimeError(why_not())
    root = Path(tempfile.mkdtemp(prefix="tap-pardot-pg-"))
    os.chown(root, owner.pw_uid, owner.pw_gid)
    data, port = root / "data", free_port()

    def run(*args: str) -> None:
        done = subprocess.run(_as_server_user(list(args)), capture_output=True, text=True,
                              timeout=120, check=False)
        if done.returncode:
            log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
            raise RuntimeError(f"{Path(args[0]).name} failed: {done.stderr}{log}"[-3000:])

    run(str(tools / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
        "--encoding=UTF8", "--no-locale", "--no-sync")
    options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off")
    run(str(tools / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w",
        "-t", "60", "-o", options, "start")
    return Cluster(root=root, port=port)


def stop(cluster: Cluster) -> None:
    """Stop the server at once and delete its files."""
    tools = bindir()
    if tools is not None:
        subprocess.run(_as_server_user([str(tools / "pg_ctl"), "-D", str(cluster.root / "data"),
                                        "-m", "immediate", "-w", "stop"]),
                       capture_output=True, timeout=60, check=False)
    shutil.rmtree(cluster.root, ignore_errors=True)
