"""The DAO member's commands: propose, vote, queue, execute, cancel, list, show.

    ape run dao propose --account ALIAS -d "admit miner 3" --call "sbt.approve_application(3)"
    ape run dao vote 1 for --account ALIAS
    ape run dao list
"""

import ast

import click
from ape import chain
from ape.cli import ConnectedProviderCommand, account_option

from offchain.governance import SUPPORT, state_name

from ._system import events, load_system, when


def _parse_call(system, text):
    """``module.method(arg, ...)`` -> (target, 0, calldata); `dao` is the DAO itself."""
    try:
        head, args_text = text.split("(", 1)
        module, method = head.strip().split(".")
        args = ast.literal_eval(f"({args_text.rstrip()[:-1]},)") if args_text.strip() != ")" else ()
    except (ValueError, SyntaxError):
        raise click.BadParameter(f"{text!r}: expected module.method(arg, ...)", param_hint="--call") from None
    if module not in system._fields:
        raise click.BadParameter(f"unknown module {module!r}; known: {', '.join(system._fields)}", param_hint="--call")
    handler = getattr(getattr(system, module), method, None)
    if handler is None or not hasattr(handler, "encode_input"):
        raise click.BadParameter(f"{module} has no method {method!r}", param_hint="--call")
    try:
        return (getattr(system, module).address, 0, handler.encode_input(*args))
    except Exception as err:  # ape raises several kinds for bad arguments
        raise click.BadParameter(f"{text}: {err}", param_hint="--call") from None


def _existing(dao, proposal_id):
    if not 1 <= proposal_id <= dao.proposal_count():
        raise click.BadParameter(f"no proposal {proposal_id} (there are {dao.proposal_count()})")
    return proposal_id


@click.group()
def cli():
    """Technical DAO: ballots on calls to the system's contracts."""


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--call", "calls", multiple=True, required=True, help='e.g. "sbt.approve_application(3)" (repeat).')
@click.option("-d", "--description", required=True)
def propose(account, calls, description):
    """Propose calls for a vote."""
    system = load_system()
    dao = system.dao
    if not dao.is_member(account):
        raise click.ClickException(f"{account.address} is not a DAO member")
    parsed = [_parse_call(system, c) for c in calls]
    tx = dao.propose(parsed, description, sender=account)
    event = tx.decode_logs(dao.ProposalCreated)[0]
    click.echo(f"proposal {event.proposal_id}: voting {when(event.vote_start)} .. {when(event.vote_end)}")


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.argument("proposal_id", type=int)
@click.argument("support", type=click.Choice(list(SUPPORT)))
@click.option("--reason", default="")
def vote(account, proposal_id, support, reason):
    """Vote for, against or abstain."""
    dao = load_system().dao
    _existing(dao, proposal_id)
    if not dao.is_member(account):
        raise click.ClickException(f"{account.address} is not a DAO member")
    state = state_name(dao, proposal_id)
    if state != "Active":
        raise click.ClickException(f"proposal {proposal_id} is {state}, not open for votes")
    if dao.seated_before(account) > proposal_id:
        raise click.ClickException(f"{account.address} was seated after proposal {proposal_id} was created and cannot vote on it")
    if dao.has_voted(proposal_id, account):
        raise click.ClickException(f"{account.address} already voted on proposal {proposal_id}")
    dao.cast_vote(proposal_id, SUPPORT[support], reason, sender=account)
    click.echo(f"voted {support} on proposal {proposal_id}")


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.argument("proposal_id", type=int)
def queue(account, proposal_id):
    """Start the timelock of a succeeded proposal."""
    dao = load_system().dao
    _existing(dao, proposal_id)
    if (state := state_name(dao, proposal_id)) != "Succeeded":
        raise click.ClickException(f"proposal {proposal_id} is {state}, only a Succeeded one can be queued")
    tx = dao.queue(proposal_id, sender=account)
    eta, expires = tx.decode_logs(dao.ProposalQueued)[0].eta, dao.proposals(proposal_id).expires
    click.echo(f"proposal {proposal_id} queued, executable from {when(eta)} until {when(expires)}")


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.argument("proposal_id", type=int)
def execute(account, proposal_id):
    """Run a queued proposal whose timelock has passed."""
    dao = load_system().dao
    _existing(dao, proposal_id)
    if (state := state_name(dao, proposal_id)) != "Queued":
        raise click.ClickException(f"proposal {proposal_id} is {state}, only a Queued one can be executed")
    eta = dao.proposals(proposal_id).eta
    if chain.pending_timestamp < eta:
        raise click.ClickException(f"proposal {proposal_id} is in its timelock until {when(eta)}")
    dao.execute(proposal_id, sender=account)
    click.echo(f"proposal {proposal_id} executed")


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.argument("proposal_id", type=int)
def cancel(account, proposal_id):
    """Withdraw your own proposal before voting ends."""
    dao = load_system().dao
    _existing(dao, proposal_id)
    if dao.proposals(proposal_id).proposer != account.address:
        raise click.ClickException(f"only the proposer may cancel proposal {proposal_id}")
    dao.cancel(proposal_id, sender=account)
    click.echo(f"proposal {proposal_id} canceled")


@cli.command(name="list", cls=ConnectedProviderCommand)
def list_():
    """Every proposal with its state and tally."""
    dao = load_system().dao
    for pid in range(1, dao.proposal_count() + 1):
        p = dao.proposals(pid)
        click.echo(
            f"{pid:4}  {state_name(dao, pid):9}  for {p.for_votes} against {p.against_votes} "
            f"abstain {p.abstain_votes} (quorum {dao.quorum(pid)})"
        )


@cli.command(cls=ConnectedProviderCommand)
@click.argument("proposal_id", type=int)
def show(proposal_id):
    """One proposal: description, calls, votes, timing."""
    system = load_system()
    dao = system.dao
    _existing(dao, proposal_id)
    p = dao.proposals(proposal_id)
    created = events(dao.ProposalCreated, proposal_id=proposal_id)
    names = {c.address: n for n, c in system._asdict().items()}
    click.echo(f"proposal {proposal_id}: {state_name(dao, proposal_id)}")
    if created:
        click.echo(f"  description: {created[0].description}")
    click.echo(f"  proposer:    {p.proposer}")
    click.echo(f"  voting:      {when(p.vote_start)} .. {when(p.vote_end)}")
    click.echo(f"  votes:       for {p.for_votes}, against {p.against_votes}, abstain {p.abstain_votes}; "
               f"quorum {dao.quorum(proposal_id)} of {p.electorate} (fixed at creation)")
    if p.eta:
        click.echo(f"  executable:  from {when(p.eta)} until {when(p.expires)} (fixed when queued)")
    else:
        click.echo(f"  queue by:    {when(p.expires)} if it passes (fixed at creation)")
    for i, c in enumerate(dao.calls(proposal_id)):
        target = names.get(c.target, c.target)
        decoded = _decode_call(system, c.target, bytes(c.data))
        click.echo(f"  call {i}: {target}.{decoded}" + (f" with {c.amount} wei" if c.amount else ""))


def _decode_call(system, target, data):
    for contract in system.values():
        if contract.address == target:
            try:
                abi, args = contract.decode_input(data)
                name = abi.split("(")[0] if isinstance(abi, str) else abi.name
                return f"{name}({', '.join(repr(a) for a in args.values())})"
            except Exception:
                break
    return "0x" + data.hex()
