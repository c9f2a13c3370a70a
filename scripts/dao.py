"""The DAO member's commands: propose, vote, queue, execute, cancel, list, show, members.

    ape run dao propose --account ALIAS -d "admit miner 3" --call "sbt.approve_application(3)" [--call ...]
    ape run dao vote 1 for --account ALIAS [--reason "checked the site"]
    ape run dao queue 1 --account ALIAS          # once voting has ended and the proposal passed
    ape run dao execute 1 --account ALIAS        # once its timelock has passed, before it expires
    ape run dao cancel 1 --account ALIAS         # the proposer, before voting ends
    ape run dao list
    ape run dao show 1
    ape run dao members

Every command takes --json: one JSON object for scripts (integers in base units, timestamps in
seconds, states by name, the transaction hash where one was sent). Every input is checked
before anything is sent; a refusal is one line.
"""

import ast
import re

import click
from ape import chain
from ape.cli import ConnectedProviderCommand
from ape.contracts.base import ContractTransactionHandler

from offchain.governance import DEFAULT_DAO_PARAMS, SUPPORT, state_name, tally_outcome

from ._system import account_option, emit, events, json_option, load_system, table, transact, tx_hash, when

# The TechnicalDAO's bounds (twins of MAX_CALLS, MAX_CALLDATA, MAX_DESCRIPTION, MAX_REASON).
MAX_CALLS = 16
MAX_CALLDATA = 1_024
MAX_DESCRIPTION = 1_024
MAX_REASON = 256
SUPPORT_NAME = {v: k for k, v in SUPPORT.items()}
CALL_SYNTAX = re.compile(r"^\s*(\w+)\.(\w+)\s*\((.*)\)\s*$", re.DOTALL)

CALL_HELP = ('A call the proposal makes, as module.method(arg, ...): e.g. "sbt.approve_application(3)", '
             "\"desk.approve(2, 1000000000000000000000000000000)\", \"dao.set_parameter('quorum_bps', 6000)\". "
             "Modules: the DAO itself (dao) and the modules of its directory; arguments are Python literals "
             "(addresses and texts in quotes). Repeat for several calls (at most 16), run in order.")


def _parse_call(system, text):
    """``module.method(arg, ...)`` -> (target, 0, calldata); `dao` is the DAO itself."""
    match = CALL_SYNTAX.match(text)
    if not match:
        raise click.BadParameter(f"{text!r}: expected module.method(arg, ...)", param_hint="--call")
    module, method, args_text = match.groups()
    if module not in system._fields:
        raise click.BadParameter(f"{text!r}: unknown module {module!r}; known: {', '.join(system._fields)}",
                                 param_hint="--call")
    handler = getattr(getattr(system, module), method, None) if not method.startswith("_") else None
    if handler is None or not hasattr(handler, "encode_input"):
        raise click.BadParameter(f"{text!r}: {module} has no method {method!r}", param_hint="--call")
    if not isinstance(handler, ContractTransactionHandler):  # a view: nothing for the DAO to do
        raise click.BadParameter(f"{text!r}: {module}.{method} only reads; a proposal calls methods that change "
                                 "state", param_hint="--call")
    try:
        args = ast.literal_eval(f"({args_text},)") if args_text.strip() else ()
    except (ValueError, SyntaxError):
        raise click.BadParameter(f"{text!r}: the arguments are not Python literals", param_hint="--call") from None
    forms = " or ".join(f"{method}({', '.join(f'{i.type} {i.name}' for i in abi.inputs)})" for abi in handler.abis)
    if not any(len(abi.inputs) == len(args) for abi in handler.abis):
        raise click.BadParameter(f"{text!r}: {len(args)} argument(s); {module} takes {forms}", param_hint="--call")
    try:
        data = handler.encode_input(*args)
    except Exception as err:  # ape and eth-abi raise several kinds for bad arguments
        reason = str(err).strip().splitlines()[0].rstrip(":") if str(err).strip() else type(err).__name__
        raise click.BadParameter(f"{text!r}: {reason.rstrip('.')}; {module} takes {forms}",
                                 param_hint="--call") from None
    if len(data) > MAX_CALLDATA:
        raise click.BadParameter(f"{text!r}: {len(data)} bytes of calldata, at most {MAX_CALLDATA}",
                                 param_hint="--call")
    return (getattr(system, module).address, 0, data)


def _existing(dao, proposal_id):
    count = dao.proposal_count()
    if not 1 <= proposal_id <= count:
        raise click.ClickException(f"no proposal {proposal_id} (there are {count})")
    return dao.proposals(proposal_id)


def _state_next(p):
    """The state the next transaction will see (its block's time is the pending timestamp): the
    twin of `TechnicalDAO._state`, so a check here agrees with the contract at the edges of a window."""
    now = chain.pending_timestamp
    if p.canceled:
        return "Canceled"
    if p.executed:
        return "Executed"
    if now < p.vote_start:
        return "Pending"
    if now <= p.vote_end:
        return "Active"
    if tally_outcome(p.for_votes, p.against_votes, p.quorum_votes) == "Defeated":
        return "Defeated"
    if now >= p.expires:
        return "Expired"
    return "Succeeded" if p.eta == 0 else "Queued"


def _tally(p):
    return f"for {p.for_votes}, against {p.against_votes}, abstain {p.abstain_votes}; quorum {p.quorum_votes}"


def _member(dao, account):
    if not dao.is_member(account):
        raise click.ClickException(f"{account.address} is not a DAO member")


def _descriptions(dao):
    return {e.proposal_id: e.description for e in events(dao.ProposalCreated)}


def _record(dao, pid, p, description):
    """A proposal as a JSON object."""
    return {
        "proposal_id": pid,
        "state": state_name(dao, pid),
        "description": description,
        "proposer": p.proposer,
        "created": p.created,
        "vote_start": p.vote_start,
        "vote_end": p.vote_end,
        "electorate": p.electorate,
        "quorum": p.quorum_votes,
        "for_votes": p.for_votes,
        "against_votes": p.against_votes,
        "abstain_votes": p.abstain_votes,
        "eta": p.eta,
        "expires": p.expires,
    }


def _decode_call(system, target, data):
    """(module name or None, readable call "method(args)")."""
    for name, contract in system._asdict().items():
        if contract.address == target:
            try:
                abi, args = contract.decode_input(data)
                method = abi.split("(")[0] if isinstance(abi, str) else abi.name
                return name, f"{method}({', '.join(_literal(a) for a in args.values())})"
            except Exception:
                return name, "0x" + data.hex()
    return None, "0x" + data.hex()


def _literal(value):
    """An argument as it would be written in --call."""
    if isinstance(value, bytes | bytearray):
        return repr("0x" + bytes(value).hex())
    return repr(value)


@click.group()
def cli():
    """Technical DAO: ballots on calls to the system's contracts.

    A proposal waits for the voting delay, then members vote during the voting period; it
    passes with more For than Against and at least the quorum For. A passed proposal is queued
    before its deadline, waits out the timelock, and then anyone may execute it until it expires.
    """


@cli.command(cls=ConnectedProviderCommand)
@account_option("The member who proposes (its alias; TEST::<n> on a local test chain).")
@click.option("--call", "calls", multiple=True, required=True, help=CALL_HELP)
@click.option("-d", "--description", required=True, help="What the proposal does and why (logged on chain).")
@json_option
def propose(account, calls, description, as_json):
    """Propose calls for a vote (members only).

    Prints the proposal's id and its voting window.
    """
    system = load_system()
    dao = system.dao
    _member(dao, account)
    if len(calls) > MAX_CALLS:
        raise click.BadParameter(f"{len(calls)} calls; a proposal makes at most {MAX_CALLS}", param_hint="--call")
    if not description.strip():
        raise click.BadParameter("empty; say what the proposal does", param_hint="--description")
    if len(description.encode()) > MAX_DESCRIPTION:
        raise click.BadParameter(f"{len(description.encode())} bytes; at most {MAX_DESCRIPTION}",
                                 param_hint="--description")
    parsed = [_parse_call(system, c) for c in calls]
    tx = transact(dao.propose, parsed, description, sender=account)
    event = tx.decode_logs(dao.ProposalCreated)[0]
    pid = event.proposal_id
    p = dao.proposals(pid)
    data = _record(dao, pid, p, description)
    data["calls"] = [_call_record(system, i, c) for i, c in enumerate(parsed)]
    data["tx"] = tx_hash(tx)
    emit(as_json, data, [
        f"proposal {pid}: voting {when(event.vote_start)} .. {when(event.vote_end)}, "
        f"{p.quorum_votes} of {p.electorate} members must vote for",
        f"  vote with: ape run dao vote {pid} for|against|abstain --account ALIAS",
    ])


def _call_record(system, index, call):
    target, amount, data = call[0], call[1], bytes(call[2])
    module, readable = _decode_call(system, target, data)
    return {"index": index, "target": target, "module": module, "call": readable, "amount": amount,
            "data": "0x" + data.hex()}


@cli.command(cls=ConnectedProviderCommand)
@account_option("The member who votes (its alias; TEST::<n> on a local test chain).")
@click.argument("proposal_id", type=int)
@click.argument("support", type=click.Choice(list(SUPPORT)))
@click.option("--reason", default="", help="Why you vote so (logged on chain, at most 256 bytes).")
@json_option
def vote(account, proposal_id, support, reason, as_json):
    """Vote on PROPOSAL_ID; SUPPORT is for, against or abstain (members seated before it was created; once).

    Prints the vote and the tally after it.
    """
    dao = load_system().dao
    p = _existing(dao, proposal_id)
    _member(dao, account)
    state = _state_next(p)
    if state == "Pending":
        raise click.ClickException(f"voting on proposal {proposal_id} opens at {when(p.vote_start)}")
    if state != "Active":
        raise click.ClickException(f"voting on proposal {proposal_id} closed at {when(p.vote_end)} "
                                   f"(it is {state})")
    if dao.seated_before(account) > proposal_id:
        raise click.ClickException(f"{account.address} was seated after proposal {proposal_id} was created "
                                   "and cannot vote on it")
    if dao.has_voted(proposal_id, account):
        raise click.ClickException(f"{account.address} already voted on proposal {proposal_id}")
    if len(reason.encode()) > MAX_REASON:
        raise click.BadParameter(f"{len(reason.encode())} bytes; at most {MAX_REASON}", param_hint="--reason")
    tx = transact(dao.cast_vote, proposal_id, SUPPORT[support], reason, sender=account)
    p = dao.proposals(proposal_id)
    emit(as_json, {
        "proposal_id": proposal_id, "voter": account.address, "support": support, "reason": reason,
        "for_votes": p.for_votes, "against_votes": p.against_votes, "abstain_votes": p.abstain_votes,
        "quorum": p.quorum_votes, "tx": tx_hash(tx),
    }, f"voted {support} on proposal {proposal_id}; now {_tally(p)}; voting ends {when(p.vote_end)}")


@cli.command(cls=ConnectedProviderCommand)
@account_option("Who sends the transaction: anyone (its alias; TEST::<n> on a local test chain).")
@click.argument("proposal_id", type=int)
@json_option
def queue(account, proposal_id, as_json):
    """Start the timelock of PROPOSAL_ID, once it has passed (anyone may).

    A passed proposal must be queued before its deadline to queue, or it expires. Prints when
    it may be executed and until when.
    """
    dao = load_system().dao
    p = _existing(dao, proposal_id)
    state = _state_next(p)
    if state in ("Pending", "Active"):
        raise click.ClickException(f"proposal {proposal_id} is {state}: voting ends at {when(p.vote_end)}")
    if state == "Defeated":
        raise click.ClickException(f"proposal {proposal_id} was defeated ({_tally(p)}): only a Succeeded one "
                                   "can be queued")
    if state == "Expired":
        raise click.ClickException(f"proposal {proposal_id} expired: it was not queued by {when(p.expires)}"
                                   if p.eta == 0 else f"proposal {proposal_id} expired at {when(p.expires)}")
    if state == "Queued":
        raise click.ClickException(f"proposal {proposal_id} is already queued, executable from {when(p.eta)}")
    if state != "Succeeded":
        raise click.ClickException(f"proposal {proposal_id} is {state}, only a Succeeded one can be queued")
    tx = transact(dao.queue, proposal_id, sender=account)
    p = dao.proposals(proposal_id)
    emit(as_json, {"proposal_id": proposal_id, "state": state_name(dao, proposal_id), "eta": p.eta,
                   "expires": p.expires, "tx": tx_hash(tx)},
         f"proposal {proposal_id} queued, executable from {when(p.eta)} until {when(p.expires)}")


@cli.command(cls=ConnectedProviderCommand)
@account_option("Who sends the transaction: anyone (its alias; TEST::<n> on a local test chain).")
@click.argument("proposal_id", type=int)
@json_option
def execute(account, proposal_id, as_json):
    """Run the calls of PROPOSAL_ID, queued and out of its timelock, before it expires (anyone may).

    If one of its calls would fail, nothing is sent and the call's reason is printed.
    """
    system = load_system()
    dao = system.dao
    p = _existing(dao, proposal_id)
    state = _state_next(p)
    if state == "Succeeded":
        raise click.ClickException(f"proposal {proposal_id} is not queued yet: ape run dao queue {proposal_id}")
    if state == "Expired":
        raise click.ClickException(f"proposal {proposal_id} expired at {when(p.expires)}: it was not executed "
                                   "in time" if p.eta else
                                   f"proposal {proposal_id} expired: it was not queued by {when(p.expires)}")
    if state != "Queued":
        raise click.ClickException(f"proposal {proposal_id} is {state}, only a Queued one can be executed")
    if chain.pending_timestamp < p.eta:
        raise click.ClickException(f"proposal {proposal_id} is in its timelock until {when(p.eta)}")
    tx = transact(dao.execute, proposal_id, sender=account)
    emit(as_json, {"proposal_id": proposal_id, "state": state_name(dao, proposal_id),
                   "calls": len(dao.calls(proposal_id)), "tx": tx_hash(tx)},
         f"proposal {proposal_id} executed")


@cli.command(cls=ConnectedProviderCommand)
@account_option("The proposer (its alias; TEST::<n> on a local test chain).")
@click.argument("proposal_id", type=int)
@json_option
def cancel(account, proposal_id, as_json):
    """Withdraw your own proposal PROPOSAL_ID before voting ends (the proposer only)."""
    dao = load_system().dao
    p = _existing(dao, proposal_id)
    if p.proposer != account.address:
        raise click.ClickException(f"only the proposer ({p.proposer}) may cancel proposal {proposal_id}")
    if (state := _state_next(p)) not in ("Pending", "Active"):
        raise click.ClickException(f"proposal {proposal_id} is {state}: too late to cancel (only until voting "
                                   f"ends, {when(p.vote_end)})")
    tx = transact(dao.cancel, proposal_id, sender=account)
    emit(as_json, {"proposal_id": proposal_id, "state": state_name(dao, proposal_id), "tx": tx_hash(tx)},
         f"proposal {proposal_id} canceled")


@cli.command(name="list", cls=ConnectedProviderCommand)
@json_option
def list_(as_json):
    """Every proposal with its state, tally and voting end."""
    dao = load_system().dao
    descriptions = _descriptions(dao)
    rows = [_record(dao, pid, dao.proposals(pid), descriptions.get(pid, ""))
            for pid in range(1, dao.proposal_count() + 1)]
    for r in rows:
        r["voting_ends"] = when(r["vote_end"])
    emit(as_json, {"proposals": rows}, table(rows, [
        ("proposal_id", "id"), ("state", "state"), ("for_votes", "for"), ("against_votes", "against"),
        ("abstain_votes", "abstain"), ("quorum", "quorum"), ("voting_ends", "voting ends"),
        ("description", "description")]) if rows else "no proposals yet")


@cli.command(cls=ConnectedProviderCommand)
@click.argument("proposal_id", type=int)
@json_option
def show(proposal_id, as_json):
    """Proposal PROPOSAL_ID: description, timing, tally, its calls decoded, and every vote."""
    system = load_system()
    dao = system.dao
    p = _existing(dao, proposal_id)
    data = _record(dao, proposal_id, p, _descriptions(dao).get(proposal_id, ""))
    data["calls"] = [_call_record(system, i, c) for i, c in enumerate(dao.calls(proposal_id))]
    data["votes"] = [{"voter": e.voter, "support": SUPPORT_NAME[e.support], "reason": e.reason}
                     for e in events(dao.VoteCast, proposal_id=proposal_id)]
    lines = [
        f"proposal {proposal_id}: {data['state']}",
        f"  description: {data['description']}",
        f"  proposer:    {p.proposer}",
        f"  voting:      {when(p.vote_start)} .. {when(p.vote_end)}",
        f"  votes:       for {p.for_votes}, against {p.against_votes}, abstain {p.abstain_votes}; "
        f"quorum {p.quorum_votes} of {p.electorate} (fixed at creation)",
        f"  executable:  from {when(p.eta)} until {when(p.expires)} (fixed when queued)" if p.eta else
        f"  queue by:    {when(p.expires)} if it passes (fixed at creation)",
    ]
    for c in data["calls"]:
        c["text"] = f"{c['module'] or c['target']}.{c['call']}" + (f" with {c['amount']} wei" if c["amount"] else "")
    lines += ["", "calls:"] + table(data["calls"], [("index", "#"), ("text", "call")])
    for c in data["calls"]:
        del c["text"]
    lines += [""] + (table(data["votes"], [("voter", "voter"), ("support", "vote"), ("reason", "reason")])
                     if data["votes"] else ["no votes yet"])
    emit(as_json, data, lines)


@cli.command(cls=ConnectedProviderCommand)
@json_option
def members(as_json):
    """The members and the ballot parameters new proposals get."""
    dao = load_system().dao
    seated = dao.members()
    params = {name: getattr(dao, name)() for name in DEFAULT_DAO_PARAMS}
    rows = [{"member": m, "votes_from": dao.seated_before(m)} for m in seated]
    emit(as_json, {"members": [str(m) for m in seated], "parameters": params, "proposal_count": dao.proposal_count()},
         table(rows, [("member", "member"), ("votes_from", "votes from proposal")]) + [
             "", f"voting delay {params['voting_delay']} s, voting period {params['voting_period']} s, "
                 f"quorum {params['quorum_bps']} bps, timelock {params['timelock_delay']} s, "
                 f"grace period {params['grace_period']} s"])
