"""TechnicalDAO against its Python twin: any electorate, quorum and set of votes."""

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from offchain.governance import DEFAULT_DAO_PARAMS, quorum, state_name, tally_outcome
from testbed.localchain import advance

ballots = st.integers(1, 7).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.integers(1, 10_000),  # quorum [bps]
        st.lists(st.sampled_from([None, 0, 1, 2]), min_size=n, max_size=n),  # abstained from voting, or support
    )
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ballot=ballots)
@example(ballot=(2, 1, [1, 0]))  # a tie fails
@example(ballot=(3, 5_000, [1, 2, 2]))  # one For of three is below a 50 % quorum
@example(ballot=(3, 5_000, [1, 1, 0]))  # passes
@example(ballot=(4, 10_000, [1, 1, 1, None]))  # unanimity needs every seat
def test_outcome__matches_python_twin(project, chain, accounts, deployer, ballot):
    n, quorum_bps, votes = ballot
    members = accounts[10 : 10 + n]
    params = {**DEFAULT_DAO_PARAMS, "quorum_bps": quorum_bps}
    dao = deployer.deploy(project.TechnicalDAO, members, *params.values(), [], [])
    tx = dao.propose([(dao.address, 0, dao.set_parameter.encode_input("voting_delay", 1))], "p", sender=members[0])
    pid = tx.decode_logs(dao.ProposalCreated)[0].proposal_id
    advance(chain, dao.voting_delay() + 1)
    for member, support in zip(members, votes):
        if support is not None:
            dao.cast_vote(pid, support, sender=member)
    advance(chain, dao.voting_period() + 1)
    needed = quorum(n, quorum_bps)
    assert (state_name(dao, pid), dao.quorum(pid)) == (tally_outcome(votes.count(1), votes.count(0), needed), needed)
