"""Gas of the TechnicalDAO's ballot on the embedded chain (receipt gas).

Run: ``ape test bench/test_gas_dao.py -s`` (prints a markdown table).

Three members, default parameters. Each round is one ballot: a proposal of one call
(``set_parameter``, 32-byte description), the three votes, queue and execution; a second
proposal is created and canceled. Every transaction is its own block.
"""

from statistics import median

from offchain.governance import DEFAULT_DAO_PARAMS, SUPPORT, call
from testbed.localchain import advance

ROUNDS = 5
DESCRIPTION = "set the voting delay to one hour"  # 31 bytes


def test_gas_dao(project, accounts, chain):
    deployer, members = accounts[0], accounts[1:4]
    dao = deployer.deploy(project.TechnicalDAO, members, *DEFAULT_DAO_PARAMS.values(), [], [])
    rows = {}

    def add(name, case, tx):
        rows.setdefault((name, case), []).append(tx.gas_used)

    calls = [call(dao.set_parameter, "voting_delay", DEFAULT_DAO_PARAMS["voting_delay"])]
    for _ in range(ROUNDS):
        tx = dao.propose(calls, DESCRIPTION, sender=members[0])
        add("propose", "one call", tx)
        pid = tx.decode_logs(dao.ProposalCreated)[0].proposal_id
        advance(chain, dao.voting_delay() + 1)
        add("cast_vote", "first For (count 0 → 1)", dao.cast_vote(pid, SUPPORT["for"], sender=members[0]))
        add("cast_vote", "second For (count 1 → 2)", dao.cast_vote(pid, SUPPORT["for"], sender=members[1]))
        add("cast_vote", "first Against (count 0 → 1)", dao.cast_vote(pid, SUPPORT["against"], sender=members[2]))
        advance(chain, dao.voting_period() + 1)
        add("queue", "", dao.queue(pid, sender=members[2]))
        advance(chain, dao.timelock_delay() + 1)
        add("execute", "one call (set_parameter)", dao.execute(pid, sender=members[1]))
        tx = dao.propose(calls, DESCRIPTION, sender=members[1])
        pid = tx.decode_logs(dao.ProposalCreated)[0].proposal_id
        add("cancel", "pending", dao.cancel(pid, sender=members[1]))

    out = ["| call | case | gas (median) | range | samples |", "| --- | --- | ---: | ---: | ---: |"]
    for (name, case), values in rows.items():
        spread = "" if min(values) == max(values) else f"{min(values):,} .. {max(values):,}"
        out.append(f"| {name} | {case} | {median(values):,.0f} | {spread} | {len(values)} |")
    print("\n\nTechnicalDAO gas (embedded chain, receipt gas)\n")
    print("\n".join(out))
