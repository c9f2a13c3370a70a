"""The energy market wired as the DAO would wire it, for the StorageNode, PaymentDesk and
parity tests and the market gas bench.

The owner account stands in for the TechnicalDAO as owner of every contract (the DAO's
own path, a ballot per payment, is what the demo runs). Devices and node meters sign
their statements with the device library (``greenminer.meter``).
"""

from greenminer import batch, meter, secp256k1
from offchain import market
from offchain.deploy import deploy_system
from offchain.protocol.enroll import send_application

CAPACITY_W = 4_200
REFERENCE_PRICE = 10**30  # DECA wei per mWh x 1e18: 1 DECA per kWh
DAO_SHARE_BPS = 1_000
PRICE_BAND_BPS = 500  # the pool's spot may be 5 % off a voted price
FEE_BPS = 30
VAULT_SHARE_BPS = 1_667
NODE_CAPACITY = 50_000_000  # mWh (50 kWh)
MIN_PAYMENT_MWH = 1_000  # the desk pays 1 Wh or more
HOUR = 3_600

SENT, RECEIVED, DELIVERED_OUT = meter.SENT, meter.RECEIVED, meter.DELIVERED_OUT


def address_of(priv):
    """The ``"0x"`` address of a private key (a device's or a meter's)."""
    return "0x" + secp256k1.address(secp256k1.public_key(priv)).hex()


MARKET_PARAMS = {"fee_bps": FEE_BPS, "vault_share_bps": VAULT_SHARE_BPS, "reference_price": REFERENCE_PRICE,
                 "dao_share_bps": DAO_SHARE_BPS, "price_band_bps": PRICE_BAND_BPS}


def deploy_market(project, chain, owner, genesis):
    """The whole system as deployed for real (``offchain.deploy``), ``owner`` standing in for the
    DAO as owner of every module; the DAO contract is the vault (``Market.vault``)."""
    system = deploy_system(project, chain, owner, [owner], owner, genesis=genesis, hand_to_dao=False,
                           market_params=MARKET_PARAMS)
    return Market(chain, owner, vault=system.dao, **system.modules())


class Market:
    """The wired contracts, the keys of the devices and meters, and the moves every test makes."""

    def __init__(self, chain, owner, **contracts):
        self.chain, self.owner = chain, owner
        self.__dict__.update(contracts)
        self.device_key = {}  # token id -> device private key
        self.meter_key = {}  # node id -> meter private key
        self.next_delivery = {}  # node id -> next delivery id

    # ------------------------------------------------------------ actors
    def admit(self, wallet, device_priv):
        """Apply with the device key as ``wallet`` and approve; returns the token id."""
        device = address_of(device_priv)
        send_application(self.chain, self.sbt, wallet, device_priv, CAPACITY_W, 39_742_000, -105_178_000,
                         "ipfs://miner")
        self.sbt.approve_application(self.sbt.application_count(), sender=self.owner)
        token = self.sbt.token_of_device(device)
        self.device_key[token] = device_priv
        return token

    def register_node(self, meter_priv, capacity=NODE_CAPACITY, lat=39_740_000, lon=-105_170_000):
        meter_address = address_of(meter_priv)
        tx = self.storage.register_node(meter_address, capacity, lat, lon, sender=self.owner)
        node = tx.decode_logs(self.storage.NodeRegistered)[0].node
        self.meter_key[node] = meter_priv
        self.next_delivery[node] = 1
        return node

    # -------------------------------------------------------- statements
    def sign(self, priv, node, id_, party, start, end, energy_mwh, kind, chain_id=None, storage=None):
        """65-byte signature by ``priv`` of a meter statement, whatever it says (an attacker's too:
        ``greenminer.meter.sign_statement`` would refuse a "sent" naming another device).
        ``chain_id`` and ``storage`` default to this chain and this StorageNode."""
        chain_id = self.chain.chain_id if chain_id is None else chain_id
        storage = self.storage.address if storage is None else storage
        digest = meter.statement_digest(chain_id, storage, node, id_, party, start, end, energy_mwh, kind)
        return batch.signature_bytes(*secp256k1.sign(digest, priv))

    def delivery_args(self, token, node, sent, received, delivery_id=None, start=None, end=None,
                      device_priv=None, meter_priv=None, device=None):
        """Arguments of ``StorageNode.record_delivery``, both statements signed and naming ``device``
        (by default the signer of "sent", the token's device)."""
        if delivery_id is None:
            delivery_id = self.next_delivery[node]
        end = self.chain.pending_timestamp - 60 if end is None else end
        start = end - HOUR if start is None else start
        device_priv = self.device_key[token] if device_priv is None else device_priv
        meter_priv = self.meter_key[node] if meter_priv is None else meter_priv
        device = address_of(device_priv) if device is None else device
        return (node, delivery_id, device, start, end,
                sent, self.sign(device_priv, node, delivery_id, device, start, end, sent, SENT),
                received, self.sign(meter_priv, node, delivery_id, device, start, end, received, RECEIVED))

    def deliver(self, token, node, sent, received, sender, **kw):
        """Record a delivery; returns its key."""
        args = self.delivery_args(token, node, sent, received, **kw)
        tx = self.storage.record_delivery(*args, sender=sender)
        self.next_delivery[node] = max(self.next_delivery[node], args[1] + 1)
        return tx.decode_logs(self.storage.Delivered)[0].key

    def request_payment(self, token, keys, sender, start=0, end=None):
        end = self.chain.pending_timestamp if end is None else end
        start = max(0, end - 30 * 86_400) if not start else start
        tx = self.desk.request_payment(token, start, end, keys, sender=sender)
        return tx.decode_logs(self.desk.PaymentRequested)[0].request_id

    def approve(self, request_id, price=None):
        """Approve a request at ``price`` (by default the price its review suggests, as the DAO
        would vote); returns the receipt."""
        price = self.desk.review(request_id).price if price is None else price
        return self.desk.approve(request_id, price, sender=self.owner)

    def pay(self, token, keys, sender):
        """Request payment for ``keys`` and approve it; returns the approval receipt."""
        return self.approve(self.request_payment(token, keys, sender))

    def fill_args(self, request_id, delivered, start=None, end=None, meter_priv=None, buyer=None):
        """Arguments of ``StorageNode.fill``, signed by the node's meter and naming ``buyer`` (by
        default the request's)."""
        r = self.storage.requests(request_id)
        end = self.chain.pending_timestamp - 1 if end is None else end
        start = r.created if start is None else start
        meter_priv = self.meter_key[r.node] if meter_priv is None else meter_priv
        buyer = r.buyer if buyer is None else buyer
        return (request_id, delivered, start, end,
                self.sign(meter_priv, r.node, request_id, buyer, start, end, delivered, DELIVERED_OUT))

    # ------------------------------------------------------------ parity
    def parity(self):
        """(Σ tokenized over nodes, ENERGY supply, every node's stored == tokenized + unpaid), as
        the auditor's ``offchain.market.get_parity`` reads them."""
        p = market.get_parity(self.storage, self.energy)
        return p.tokenized_mwh, p.supply_mwh, p.nodes_hold
