"""The command tests' deployment: records in a temporary folder, the system as `ape run deploy` makes it."""

import pytest
from cli_kit import FAST_DAO, alias, run

from scripts import deploy
from scripts._system import load_system


@pytest.fixture(scope="session", autouse=True)
def deployments(tmp_path_factory):
    """Deployment records go to a temporary folder, never into the project."""
    folder = tmp_path_factory.mktemp("deployments")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GEM_DEPLOYMENTS", str(folder))
        yield folder


@pytest.fixture(scope="module")
def system(project, accounts):
    """The system as `ape run deploy` deploys it: members 1-3, the oracle 7, fast ballots."""
    args = ["--account", alias(accounts[0]), "--oracle", accounts[7].address, "--replace"]
    for m in accounts[1:4]:
        args += ["--member", m.address]
    for option, value in FAST_DAO.items():
        args += [option, value]
    run(deploy.cli, *args)
    return load_system()
