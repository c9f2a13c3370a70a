"""
Contract views read with bare ``eth_call`` requests: ``call_view(contract, "name", *args)``;
event logs with bare ``eth_getLogs``: ``get_logs(contract, "Event", first, last)``.

A view called through ape costs about 4 ms more than the node's own work on the embedded chain
(a transaction model is built, the address's code is fetched to check that it is a contract,
a fee is looked up); the gateway, the oracle and the auditor read thousands of views an hour
of a fleet. Here the call is encoded once from the contract's ABI and sent as it is.

What comes back is what eth-abi decodes: an int, bool or bytes for a single output, a tuple
for several, a named tuple for a single struct (its fields by name, as ape gives them), and
addresses as checksummed strings.
"""

from collections import namedtuple

from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address

_METHODS = {}  # id(contract type) -> (contract type, {(name, number of inputs): _Method})
_EVENTS = {}  # id(contract type) -> (contract type, {name: _Event})
LOG_FIELDS = ("block_number", "block_hash", "log_index", "transaction_hash")  # what a decoded log carries besides its fields


class _Method:
    """One view function of an ABI: how to encode its call and decode its answer."""

    def __init__(self, abi):
        self.selector = function_signature_to_4byte_selector(abi.selector)
        self.inputs = [i.canonical_type for i in abi.inputs]
        self.outputs = [o.canonical_type for o in abi.outputs]
        self.convert = [_converter(o) for o in abi.outputs]
        single = abi.outputs[0] if len(abi.outputs) == 1 else None
        self.struct = None
        if single is not None and single.type == "tuple":
            self.struct = namedtuple(f"{abi.name}_result", [c.name for c in single.components])

    def decode(self, data):
        values = tuple(f(v) for f, v in zip(self.convert, decode(self.outputs, data)))
        if self.struct is not None:
            return self.struct(*values[0])
        return values[0] if len(values) == 1 else values


def _converter(output):
    """Checksums the addresses of one output (a struct's own fields included)."""
    if output.type == "address":
        return to_checksum_address
    if output.type == "tuple":
        fields = [_converter(c) for c in output.components]
        return lambda value: tuple(f(v) for f, v in zip(fields, value))
    return _same


def _same(value):
    return value


def _table(cache, contract_type, build):
    """``build(contract_type)``, kept per contract type (a type's ABI never changes)."""
    entry = cache.get(id(contract_type))
    if entry is None or entry[0] is not contract_type:  # the type itself is kept: its id is not reused
        entry = cache[id(contract_type)] = (contract_type, build(contract_type))
    return entry[1]


def _method(contract, name, n_args):
    contract_type = contract.contract_type
    methods = _table(_METHODS, contract_type,
                     lambda ct: {(abi.name, len(abi.inputs)): _Method(abi) for abi in ct.view_methods})
    try:
        return methods[(name, n_args)]
    except KeyError:
        raise AttributeError(f"{contract_type.name} has no view {name} of {n_args} arguments") from None


def call_view(contract, name, *args):
    """
    ``contract.name(*args)`` read with one bare ``eth_call`` at the latest block.

    Parameters
    ----------
    contract : ape ContractInstance
    name : str
        A view (or pure, or public getter) function of its ABI.
    *args
        Its arguments, as eth-abi encodes them (addresses as strings, bytes32 as bytes).

    Raises
    ------
    AttributeError
        When the ABI has no such view with that many arguments.
    """
    method = _method(contract, name, len(args))
    data = method.selector + encode(method.inputs, list(args))
    return method.decode(contract.provider.web3.eth.call({"to": contract.address, "data": data}))


class _Event:
    """One event of an ABI: its topic and how to decode its logs. An indexed field of a dynamic type
    (string, bytes, an array or a struct) is in its log only as the keccak of its value: that hash is
    what it decodes to."""

    def __init__(self, abi):
        self.topic = keccak(text=abi.selector)
        self.indexed = [_topic_decoder(i) for i in abi.inputs if i.indexed]
        self.data = [i.canonical_type for i in abi.inputs if not i.indexed]
        self.data_convert = [_converter(i) for i in abi.inputs if not i.indexed]
        self.order = [i.indexed for i in abi.inputs]
        self.row = namedtuple(f"{abi.name}_log", [i.name for i in abi.inputs] + list(LOG_FIELDS))

    def decode(self, log):
        indexed = [f(bytes(topic)) for f, topic in zip(self.indexed, log["topics"][1:])]
        data = [f(v) for f, v in zip(self.data_convert, decode(self.data, bytes(log["data"])))]
        fields = [indexed.pop(0) if is_indexed else data.pop(0) for is_indexed in self.order]
        return self.row(*fields, int(log["blockNumber"]), bytes(log["blockHash"]), int(log["logIndex"]),
                        bytes(log["transactionHash"]))


def _topic_decoder(field):
    """How one indexed field is read from its topic: decoded if its type is static, else its hash as is."""
    abi_type = field.canonical_type
    if abi_type in ("string", "bytes") or abi_type.endswith("]") or abi_type.startswith("("):
        return _same
    convert = _converter(field)
    return lambda topic: convert(decode([abi_type], topic)[0])


def get_logs(contract, name, first_block, last_block):
    """
    The logs of event ``name`` that ``contract`` emitted in blocks ``first_block`` .. ``last_block``
    (inclusive), read with one bare ``eth_getLogs`` and decoded from the contract's ABI.

    Returns
    -------
    list of named tuples
        The event's fields by name (addresses checksummed), then ``block_number``,
        ``block_hash``, ``log_index`` and ``transaction_hash`` (hashes as bytes), in the node's order.
    """
    contract_type = contract.contract_type
    events = _table(_EVENTS, contract_type, lambda ct: {abi.name: _Event(abi) for abi in ct.events})
    try:
        event = events[name]
    except KeyError:
        raise AttributeError(f"{contract_type.name} has no event {name}") from None
    logs = contract.provider.web3.eth.get_logs({"address": contract.address, "topics": ["0x" + event.topic.hex()],
                                                "fromBlock": first_block, "toBlock": last_block})
    return [event.decode(log) for log in logs]
