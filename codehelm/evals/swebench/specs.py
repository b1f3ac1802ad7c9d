"""`InstanceSpec`: how to build and test an instance's repository, given by the caller or
derived from SWE-bench's `MAP_REPO_VERSION_TO_SPECS` for the instance's repo and version.

SWE-bench's images install with conda; here the same steps run in a virtualenv: the conda
package list goes to pip (`name=1.2` becomes `name==1.2.*`), requirement files are read
from the clone with `git show <environment_setup_commit>:<path>` (GitHub is not needed),
then `pip_packages`, the repository's install hook, `pre_install` and `install` follow in
SWE-bench's order. `environment.yml` (conda) specifications are refused with a reason.
"""

from __future__ import annotations

import posixpath
import re
import shlex
import subprocess
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from codehelm.errors import BadInputError
from codehelm.evals.swebench.instances import SWEInstance
from codehelm.evals.swebench.upstream import Upstream
from codehelm.tools.repo.environment import EnvironmentSpec

NON_TEST_EXTS = (  # SWE-bench's: the files of a test patch that are not tests
    *(".json", ".png", "csv", ".txt", ".md", ".jpg", ".jpeg", ".pkl", ".yml", ".yaml", ".toml"),
)
_CONDA_PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)=([^=<>!~]+)$")
_SKIPPED_REQUIREMENT = ("-e .", "#", ".[test")


class SpecError(BadInputError):
    """No usable environment specification for an instance."""


class InstanceSpec(BaseModel):
    """How to build, test and read the test log of one instance's repository."""

    model_config = ConfigDict(frozen=True)

    environment: EnvironmentSpec = EnvironmentSpec(test_cmd="pytest -rA")
    parser: str | None = "pytest"  # a SWE-bench log parser's name; None: the repo's own
    eval_commands: list[str] = []  # shell lines run before the test command


def test_directives(instance: SWEInstance) -> list[str]:
    """What the test command is given: the test patch's files (Django: module names)."""
    files = [f for f in instance.test_files() if not f.endswith(NON_TEST_EXTS)]
    if instance.repo != "django/django":
        return files
    names = [f.removesuffix(".py").removeprefix("tests/") for f in files]
    return [n.replace("/", ".") for n in names]


def _show(clone: Path, commit: str, path: str) -> str | None:
    done = subprocess.run(
        ["git", "-C", str(clone), "show", f"{commit}:{path}"], capture_output=True, text=True
    )
    return done.stdout if done.returncode == 0 else None


def requirements_text(clone: Path, commit: str, paths: list[str]) -> str:
    """SWE-bench's `get_requirements_by_commit`, reading the files from the clone."""
    for path in paths:
        text = _show(clone, commit, path)
        if text is not None:
            break
    else:
        raise SpecError(f"none of {paths} exists at {commit} in {clone}")
    keep = [line for line in text.splitlines() if not line.strip().startswith("-r")]
    extra = []
    for line in text.splitlines():
        if line.strip().startswith("-r"):
            included = posixpath.join(posixpath.dirname(path), line.strip()[2:].strip())
            extra += (_show(clone, commit, included) or "").splitlines()
    lines = [*extra, *keep]
    return "\n".join(ln for ln in lines if not ln.strip().startswith(_SKIPPED_REQUIREMENT))


def _pip_name(conda: str) -> str:
    pinned = _CONDA_PIN.match(conda)
    return f"{pinned.group(1)}=={pinned.group(2)}.*" if pinned else conda


def upstream_spec(instance: SWEInstance, upstream: Upstream, clone: Path) -> InstanceSpec:
    """The `InstanceSpec` SWE-bench's specification gives `instance` (see the module doc)."""
    spec = upstream.specs.get(instance.repo, {}).get(instance.version)
    if spec is None:
        raise SpecError(
            f"SWE-bench has no specification for {instance.repo} version {instance.version!r};"
            " give one (InstanceSpec) for this instance or repository"
        )
    packages: list[str] = []
    pre_install: list[str] = []
    wanted = spec.get("packages", "")
    if wanted == "environment.yml":
        raise SpecError(f"{instance.repo} {instance.version} needs a conda environment.yml")
    if wanted == "requirements.txt":
        commit = instance.environment_setup_commit or instance.base_commit
        paths = upstream.requirement_paths.get(instance.repo, ["requirements.txt"])
        text = requirements_text(clone, commit, paths)
        pre_install.append(
            f"cat > ../requirements.txt <<'CODEHELM_EOF'\n{text}\nCODEHELM_EOF\n"
            "python -m pip install -r ../requirements.txt"
        )
    elif wanted:
        packages = [_pip_name(p) for p in shlex.split(wanted) if not p.startswith("python=")]
    if spec.get("pip_packages"):
        pre_install.append(
            "python -m pip install " + " ".join(shlex.quote(p) for p in spec["pip_packages"])
        )
    if instance.repo in upstream.repo_install:
        pre_install.append(upstream.repo_install[instance.repo])
    pre_install += spec.get("pre_install", [])
    test_cmd = spec["test_cmd"]
    return InstanceSpec(
        environment=EnvironmentSpec(
            python=str(spec["python"]),
            packages=packages,
            pre_install=pre_install,
            install=spec.get("install"),
            test_cmd="\n".join(test_cmd) if isinstance(test_cmd, list) else test_cmd,
            share_host_packages=False,
        ),
        parser=instance.log_parser,
        eval_commands=spec.get("eval_commands", []),
    )
