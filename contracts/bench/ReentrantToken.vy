# pragma version ~=0.4.3
"""
@title ReentrantToken: a token that calls back into the pool (tests only)
@license MIT
@notice A bare ERC-20 (no allowances) whose `transferFrom` and `transfer`
        try `sync()` on the pool set by `arm` and record whether it went
        through, to show that the pool's state-changing functions refuse
        reentry. Not part of the system: tests/market/test_pool.py deploys
        it in place of DECA.
@custom:security Not a real token: anyone may mint and move anyone's balance.
"""

balanceOf: public(HashMap[address, uint256])
target: public(address)
tried: public(uint256)  # callbacks attempted
succeeded: public(uint256)  # callbacks the pool accepted


@external
def mint(owner: address, amount: uint256):
    self.balanceOf[owner] += amount


@external
def arm(pool: address):
    self.target = pool


@external
def approve(spender: address, amount: uint256) -> bool:
    return True


@external
def transfer(to: address, amount: uint256) -> bool:
    self._move(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    self._move(owner, to, amount)
    return True


@internal
def _move(owner: address, to: address, amount: uint256):
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount
    if self.target != empty(address):
        self._call_back()


@external
def poke():
    """
    @notice The same callback, outside any pool call (the control).
    """
    self._call_back()


@internal
def _call_back():
    ok: bool = raw_call(self.target, method_id("sync()"), revert_on_failure=False)
    self.tried += 1
    if ok:
        self.succeeded += 1
