"""The protocol's facts, one source for the board, the off-chain side and the tests.

Plain values only (CircuitPython imports this module too). The contracts hold the same
values as Vyper constants; ``tests/registry/test_protocol.py`` compares them with the
deployed contracts' views. The wire formats built on them: ``docs/protocol.md``.
"""

EPOCH_SECONDS = 3600
"""[s] One epoch: one batch per device, one lottery."""

SAMPLE_SECONDS = 300
"""[s] One reading slot (the device samples once per slot)."""

MAX_READINGS = EPOCH_SECONDS // SAMPLE_SECONDS
"""Readings per batch, and per device and epoch, at most (12)."""

MAX_BPS = 10000
"""100 % in basis points."""

UINT64_MAX = (1 << 64) - 1
UINT128_MAX = (1 << 128) - 1

# EIP-712: one domain name and version for every contract that verifies a signature, and
# the signed types
DOMAIN_NAME = "GreenEnergyMiners"
DOMAIN_VERSION = "1"
DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
BATCH_TYPE = ("Batch(address device,uint64 epoch,uint64 seq,bytes32 readingsHash,"
              "bytes32 prevBatch,uint256 powNonce)")
ENROLLMENT_TYPE = "Enrollment(address applicant,uint128 startTotal,uint64 startTime)"
STATEMENT_TYPE = ("MeterStatement(uint256 node,uint256 id,address party,uint64 periodStart,"
                  "uint64 periodEnd,uint128 energy,uint8 kind)")

# The device's health report, posted next to each batch but not part of it: the fault and
# traffic counters, then the uptime [s], each below 2**64, in this order. Signed by the device
# key with EIP-191 personal_sign over HEALTH_TAG ‖ the batch's digest ‖ each value as 8 bytes
# big-endian (docs/protocol.md, "Health report").
COUNTERS = ("boots", "i2c_errors", "sensor_overflows", "missed_samples", "clock_backs", "posts_failed",
            "batches_built", "batches_accepted", "batches_rejected")
HEALTH_FIELDS = COUNTERS + ("uptime",)
HEALTH_TAG = "GreenEnergyMiners health v1"
