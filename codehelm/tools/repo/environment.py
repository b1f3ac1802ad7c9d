"""An isolated virtualenv for a repository, built and used inside a `Sandbox`.

`upload_repository` puts a git tree into the sandbox as a one-commit repository;
`RepoEnvironment` builds a virtualenv for it (outside the repository, so `git clean` keeps
it) with the interpreter its `EnvironmentSpec` names, runs commands and pytest in it, applies
patches and resets the tree.

Offline (a sandbox without network, the default for a user's repository): when the
environment's Python is the one codehelm runs on and `share_host_packages` is set, a `.pth`
file lets the venv see codehelm's site-packages after its own (pytest included), and a pip
install that fails for lack of network is retried with `--no-deps --no-build-isolation`.
The bootstrap pins (`PIP_BOOTSTRAP`, what SWE-bench's images ship) are installed when pip
can fetch them; when it cannot, the build goes on with the venv's own pip and says so in the
log, since the pins only matter for a few legacy installs.
"""

from __future__ import annotations

import asyncio
import io
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from codehelm.errors import CodehelmError
from codehelm.tools.repo.copies import working_tree_files
from codehelm.tools.repo.paths import RepoToolError
from codehelm.tools.repo.testing import PytestRun, run_in_sandbox
from codehelm.tools.sandbox.base import CommandResult, Sandbox
from codehelm.tools.sandbox.bwrap import site_dirs

PIP_BOOTSTRAP = ("pip==24.2", "setuptools==75.1.0", "wheel==0.44.0")
LOG_TAIL = 6000
NO_NETWORK = re.compile(
    r"Temporary failure in name resolution|Failed to establish a new connection|"
    r"Network is unreachable|Name or service not known|No matching distribution found|"
    r"Could not find a version that satisfies"
)
HOST_PTH = "_codehelm_host.pth"
PYTHON_WRAPPER = "python-env"  # in the venv's bin: the venv's python with the spec's env
GIT_IDENTITY = "-c user.name=codehelm -c user.email=codehelm@localhost"


class EnvironmentSpec(BaseModel):
    """How to build and test a repository's environment."""

    model_config = ConfigDict(frozen=True)

    python: str | None = None  # "3.9" etc.; None = the interpreter codehelm runs on
    pre_install: list[str] = []  # shell commands run in the repo dir before installing
    packages: list[str] = []  # pip requirements installed first (e.g. ["pytest", "numpy<2"])
    install: str | None = "python -m pip install -e ."  # in the repo dir, venv active
    test_cmd: str = "python -m pytest"  # the suite's command
    env: dict[str, str] = {}
    share_host_packages: bool = True  # see the module docstring; off for faithful grading


class EnvironmentReport(BaseModel):
    """The outcome of `RepoEnvironment.build`."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    python: str  # the interpreter's version, e.g. "3.9.18" ("" when none was found)
    log: str  # the tail of every step's command and output
    error: str | None = None
    duration_s: float


class EnvironmentFailure(CodehelmError):
    """The environment (interpreter, install, sandbox) failed: never the patch's fault."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"environment error: {reason}")
        self.reason = reason


class PatchApplyError(RepoToolError):
    """A patch does not apply to the repository; the message carries git's reason."""


# -- interpreters -----------------------------------------------------------------------


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else -1 for p in name.split("."))


def find_interpreter(version: str | None) -> Path | None:
    """The host's interpreter for `version` ("3.9"): pyenv's newest 3.9.*, else `python3.9`
    on PATH (pyenv shims skipped); None means codehelm's own. None when there is none."""
    if version is None:
        return Path(sys.executable)
    pyenv_root = os.environ.get("PYENV_ROOT")
    if pyenv_root is None and shutil.which("pyenv"):
        done = subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=10)
        pyenv_root = done.stdout.strip() or None
    versions = Path(pyenv_root or Path.home() / ".pyenv") / "versions"
    if versions.is_dir():
        found = sorted(versions.glob(f"{version}.*"), key=lambda p: _version_key(p.name))
        for prefix in reversed(found):
            exe = prefix / "bin" / f"python{version}"
            if exe.is_file():
                return exe
    on_path = shutil.which(f"python{version}")
    if on_path and "/shims/" not in on_path:
        return Path(on_path)
    return None


def interpreter_prefix(executable: Path) -> Path:
    """The installation directory holding `executable` (what a sandbox must mount)."""
    return executable.resolve().parent.parent


# -- uploading a repository -------------------------------------------------------------


def _git_bytes(root: Path, *args: str) -> bytes:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True)
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip()
        raise RepoToolError(f"git {' '.join(args)} failed in {root}: {reason}")
    return done.stdout


def _archive_commit(root: Path, commit: str, tar: tarfile.TarFile) -> None:
    """Every blob and symlink of `commit` into `tar` (submodules are left out)."""
    _git_bytes(root, "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}")
    listing = _git_bytes(root, "ls-tree", "-r", "-z", "--full-tree", commit)
    entries = []
    for item in listing.split(b"\0"):
        if item:
            meta, name = item.split(b"\t", 1)
            mode, kind, sha = meta.split()
            if kind == b"blob":
                entries.append((mode, sha, name.decode(errors="surrogateescape")))
    with subprocess.Popen(
        ["git", "-C", str(root), "cat-file", "--batch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        for mode, sha, path in entries:
            proc.stdin.write(sha + b"\n")
            proc.stdin.flush()
            size = int(proc.stdout.readline().split()[2])
            data = proc.stdout.read(size)
            proc.stdout.read(1)
            info = tarfile.TarInfo(path)
            if mode == b"120000":
                info.type, info.linkname = tarfile.SYMTYPE, data.decode(errors="surrogateescape")
                tar.addfile(info)
            else:
                info.size, info.mode = size, 0o755 if mode == b"100755" else 0o644
                tar.addfile(info, io.BytesIO(data))
        proc.stdin.close()


def _archive_worktree(root: Path, tar: tarfile.TarFile) -> None:
    """Tracked and untracked, not ignored files of the working tree, as they are on disk."""
    for name in working_tree_files(root):
        tar.add(root / name, arcname=name, recursive=False)


def archive(root: Path, commit: str | None = None) -> bytes:
    """A tar archive of the repository at `root`: the tree of `commit`, or the working tree."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        if commit is None:
            _archive_worktree(root, tar)
        else:
            _archive_commit(root, commit, tar)
    return buffer.getvalue()


async def upload_repository(
    sandbox: Sandbox, root: Path, dest: str, *, commit: str | None = None
) -> None:
    """Put the repository at `root` into the sandbox at `dest` as a one-commit git repository.

    The tree is `commit`'s, or by default the working tree with uncommitted changes and
    untracked files (not `.git`, not ignored files). It travels as one tar archive.
    `dest` is replaced if it exists.
    """
    data = await asyncio.to_thread(archive, root, commit)
    name = f".codehelm-upload-{uuid.uuid4().hex}.tar"
    await sandbox.files.write(name, data)
    target = shlex.quote(dest)
    script = (
        f"rm -rf {target} && mkdir -p {target} && tar -xf {name} -C {target} && rm -f {name}"
        f" && cd {target} && git init -q -b main && git add -A -f"
        f" && git {GIT_IDENTITY} commit -q --no-verify --allow-empty -m 'codehelm: uploaded tree'"
    )
    result = await sandbox.run_command(script, timeout=600)
    if not result.ok:
        raise EnvironmentFailure(f"could not unpack the repository into {dest}: {_output(result)}")


# -- the environment --------------------------------------------------------------------


def _output(result: CommandResult) -> str:
    if result.timed_out:
        return "timed out"
    text = (result.stdout + result.stderr).strip()
    return text[-1500:] or f"exit code {result.exit_code}"


_Step = Callable[..., Awaitable[CommandResult]]


class _BuildFailed(Exception):
    """A build step failed; `reason` becomes the report's error."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class RepoEnvironment:
    """A virtualenv for the repository at `repo_dir` of the sandbox's workspace.

    `venv_dir` (default: `<repo_dir>-venv` beside the repository) holds the virtualenv.
    Commands run in `repo_dir` with the venv activated and the spec's `env` set.
    """

    def __init__(
        self,
        sandbox: Sandbox,
        repo_dir: str,
        spec: EnvironmentSpec,
        *,
        venv_dir: str | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.repo_dir = repo_dir
        self.spec = spec
        normal = posixpath.normpath(repo_dir)
        self.venv_dir = venv_dir or (".codehelm-venv" if normal == "." else f"{normal}-venv")
        self.offline = False  # the build found no package index: pip does not retry
        self._root: str | None = None

    async def _workspace(self) -> str:
        """The absolute path of the sandbox's workspace root."""
        if self._root is None:
            result = await self.sandbox.run_command("pwd", timeout=30)
            if not result.ok:
                raise EnvironmentFailure(f"the sandbox does not answer: {_output(result)}")
            self._root = result.stdout.strip()
        return self._root

    async def venv_path(self) -> str:
        """The virtualenv's absolute path inside the sandbox."""
        return posixpath.join(await self._workspace(), self.venv_dir)

    def _exports(self, venv: str) -> str:
        pairs = {
            "VIRTUAL_ENV": venv,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_INPUT": "1",
            **({"PIP_RETRIES": "0"} if self.offline else {}),  # fail fast, then fall back
            **self.spec.env,
        }
        lines = [f"export {k}={shlex.quote(v)}" for k, v in pairs.items()]
        return "\n".join([*lines, 'export PATH="$VIRTUAL_ENV/bin:$PATH"', "unset PYTHONHOME"])

    async def run(self, cmd: str, *, timeout: float = 600) -> CommandResult:
        """`cmd` in the repository with the venv activated (PATH, VIRTUAL_ENV) and `env` set."""
        script = f"{self._exports(await self.venv_path())}\n{cmd}"
        result = await self.sandbox.run_command(script, timeout=timeout, cwd=self.repo_dir)
        return result.model_copy(update={"command": cmd})

    async def run_tests(
        self, args: list[str] | str | None = None, *, timeout: float = 600
    ) -> PytestRun:
        """pytest `args` in the repository with the venv's python; outcomes per test."""
        wrapper = posixpath.join(await self.venv_path(), "bin", PYTHON_WRAPPER)
        return await run_in_sandbox(
            self.sandbox, args, cwd=self.repo_dir, python=wrapper, timeout=timeout
        )

    async def build(self, *, timeout: float = 900) -> EnvironmentReport:
        """Create the venv and install into it; a failure is reported (ok=False), not raised."""
        started = time.perf_counter()
        log: list[str] = []
        version = ""

        async def step(cmd: str, *, venv: bool = True, cwd: str | None = None) -> CommandResult:
            left = timeout - (time.perf_counter() - started)
            if left <= 0:
                raise _BuildFailed(f"the build took longer than {timeout:.0f}s")
            script = f"{self._exports(await self.venv_path())}\n{cmd}" if venv else cmd
            result = await self.sandbox.run_command(script, timeout=left, cwd=cwd)
            log.append(f"$ {cmd}\n{(result.stdout + result.stderr).strip()[-2000:]}")
            if result.timed_out:
                raise _BuildFailed(f"`{cmd}` timed out")
            return result

        try:
            exe, version = await self._interpreter()
            venv = shlex.quote(await self.venv_path())
            made = await step(f"rm -rf {venv} && {shlex.quote(exe)} -m venv {venv}", venv=False)
            if not made.ok:
                raise _BuildFailed(f"could not create a virtualenv with {exe}: {_output(made)}")
            await step(self._wrapper(await self.venv_path()), venv=False)
            if self.spec.share_host_packages and version.startswith(_own_version() + "."):
                shared = await step(_share_host_packages())
                if not shared.ok:
                    raise _BuildFailed(f"could not share codehelm's packages: {_output(shared)}")
            pins = await step(f"python -m pip install -q --retries 0 {' '.join(PIP_BOOTSTRAP)}")
            self.offline = not pins.ok and NO_NETWORK.search(pins.stdout + pins.stderr) is not None
            if not pins.ok:
                log.append("note: bootstrap pins not installed; keeping the venv's own pip")
            if self.spec.packages:
                wanted = " ".join(shlex.quote(p) for p in self.spec.packages)
                done = await step(f"python -m pip install {wanted}")
                if not done.ok:
                    raise _BuildFailed(f"installing packages failed: {_output(done)}")
            for command in self.spec.pre_install:
                done = await step(command, cwd=self.repo_dir)
                if not done.ok:
                    raise _BuildFailed(f"pre-install `{command}` failed: {_output(done)}")
            if self.spec.install:
                await self._install(step, self.spec.install)
            await step(
                "[ -d .git ] && mkdir -p .git/info && git ls-files --others --exclude-standard"
                " --directory | sed 's|^|/|' >> .git/info/exclude || true",
                cwd=self.repo_dir,
            )
        except _BuildFailed as failed:
            return self._report(log, version, started, failed.reason)
        except EnvironmentFailure as failed:
            return self._report(log, version, started, failed.reason)
        return self._report(log, version, started, None)

    async def _install(self, step: _Step, install: str) -> None:
        done = await step(install, cwd=self.repo_dir)
        if done.ok:
            return
        offline = NO_NETWORK.search(done.stdout + done.stderr) is not None
        if offline and "pip install" in install:
            fallback = f"{install} --no-deps --no-build-isolation"
            retried = await step(fallback, cwd=self.repo_dir)
            if retried.ok:
                return
            raise _BuildFailed(f"install failed offline, also `{fallback}`: {_output(retried)}")
        raise _BuildFailed(f"install `{install}` failed: {_output(done)}")

    def _wrapper(self, venv: str) -> str:
        """The command writing the venv's `python-env`: its python with the spec's env."""
        body = f'#!/bin/sh\n{self._exports(venv)}\nexec "$VIRTUAL_ENV/bin/python" "$@"\n'
        path = shlex.quote(posixpath.join(venv, "bin", PYTHON_WRAPPER))
        return f"cat > {path} <<'CODEHELM_EOF'\n{body}CODEHELM_EOF\nchmod +x {path}"

    async def _interpreter(self) -> tuple[str, str]:
        """(path, version) of the spec's interpreter inside the sandbox."""
        wanted = self.spec.python or _own_version()
        host = find_interpreter(self.spec.python)
        candidates = [str(host)] if host else []
        candidates.append(f"python{wanted}")
        major_minor = tuple(int(p) for p in wanted.split(".")[:2] if p.isdigit())
        probe = (
            f"import sys, platform; ok = sys.version_info[:2] == {major_minor}; "
            "print(platform.python_version()) if ok else sys.exit(1)"
        )
        script = (
            f"for c in {' '.join(shlex.quote(c) for c in candidates)}; do "
            'p=$(command -v "$c") && v=$("$p" -c ' + shlex.quote(probe) + ") "
            '&& echo "$p $v" && exit 0; done; exit 1'
        )
        result = await self.sandbox.run_command(script, timeout=60)
        if result.ok and result.stdout.split():
            path, version = result.stdout.split()[:2]
            return path, version
        if host is not None:
            raise EnvironmentFailure(
                f"Python {wanted} is installed on this machine ({host}) but not visible in the "
                f"sandbox: mount it, e.g. LocalSandbox(read_only_paths=["
                f"'{interpreter_prefix(host)}'])"
            )
        raise EnvironmentFailure(
            f"Python {wanted} is not installed (looked for pyenv's versions/{wanted}.* and "
            f"python{wanted} on PATH): install it, e.g. `pyenv install {wanted}`"
        )

    def _report(
        self, log: list[str], version: str, started: float, error: str | None
    ) -> EnvironmentReport:
        return EnvironmentReport(
            ok=error is None,
            python=version,
            log="\n".join(log)[-LOG_TAIL:],
            error=None if error is None else f"environment error: {error}",
            duration_s=time.perf_counter() - started,
        )

    async def apply_patch(self, patch: str) -> None:
        """Apply a unified diff with `git apply`, else `patch -p1 --fuzz=5` (as SWE-bench's
        harness does); `PatchApplyError` with git's reason when neither applies it."""
        if not patch.strip():
            raise PatchApplyError("the patch is empty")
        name = f".codehelm-patch-{uuid.uuid4().hex}.diff"
        await self.sandbox.files.write(name, patch if patch.endswith("\n") else patch + "\n")
        path = shlex.quote(posixpath.join(await self._workspace(), name))
        try:
            git = await self.sandbox.run_command(
                f"git apply --verbose {path}", timeout=120, cwd=self.repo_dir
            )
            if git.ok:
                return
            fuzzy = await self.sandbox.run_command(
                f"patch --batch --fuzz=5 -p1 --dry-run -i {path} >/dev/null"
                f" && patch --batch --fuzz=5 -p1 -i {path}",
                timeout=120,
                cwd=self.repo_dir,
            )
            if not fuzzy.ok:
                reasons = [
                    ln
                    for ln in git.stderr.splitlines()
                    if ln.startswith("error:") and not ln.endswith("while searching for:")
                ]
                raise PatchApplyError(
                    "the patch does not apply: " + ("; ".join(reasons) or _output(git))
                )
        finally:
            await self.sandbox.run_command(f"rm -f {path}", timeout=30)

    async def reset(self) -> None:
        """Back to the committed tree: tracked files restored, untracked ones removed (files
        made by the install and the venv are kept)."""
        result = await self.sandbox.run_command(
            "git reset -q --hard && git clean -fdq", timeout=300, cwd=self.repo_dir
        )
        if not result.ok:
            raise EnvironmentFailure(f"could not reset {self.repo_dir}: {_output(result)}")


def _own_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _share_host_packages() -> str:
    """The command adding codehelm's site-packages after the venv's own (a `.pth` file), and
    a `pytest` launcher, since those packages' scripts are not in the venv's bin."""
    lines = "\n".join(site_dirs())
    return (
        "sp=$(python -c \"import sysconfig; print(sysconfig.get_path('purelib'))\") && "
        f"cat > \"$sp/{HOST_PTH}\" <<'CODEHELM_EOF'\n{lines}\nCODEHELM_EOF\n"
        'printf \'#!/bin/sh\\nexec "%s" -m pytest "$@"\\n\' "$VIRTUAL_ENV/bin/python"'
        ' > "$VIRTUAL_ENV/bin/pytest" && chmod +x "$VIRTUAL_ENV/bin/pytest"'
    )
