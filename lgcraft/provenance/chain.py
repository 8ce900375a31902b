"""EVM access for anchoring and verification: an embedded dev chain or any JSON-RPC node.

- `open_embedded(folder)`: py-evm running in this process (through eth-tester and
  web3's EthereumTesterProvider). Its key-value database is persisted in
  ``<folder>/devchain.sqlite`` after every state change (only the changed keys, in
  one SQLite transaction) and restored on start, so blocks, hashes and timestamps are
  identical in a later process. No server, no configuration. Chain id
  `DEV_CHAIN_ID`; the signer is funded from the dev chain's built-in faucet account.
- `open_rpc(url)`: any EVM JSON-RPC node (anvil, geth, Besu, public chains).

Both return a `ChainClient`; callers never see web3 or eth-tester types (errors are
translated to `ChainError`).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lgcraft.errors import ChainError, InputError

DEV_CHAIN_ID = 131277322940537  # eth-tester's py-evm chain id, fixed
DEV_DB_NAME = "devchain.sqlite"
FAUCET_TOP_UP_WEI = 100 * 10**18
ZERO_ADDRESS = "0x" + "00" * 20


class _TrackingDict(dict):
    """A dict that remembers which keys were written or deleted since the last save."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.dirty: set[bytes] = set()

    def __setitem__(self, key: bytes, value: bytes) -> None:
        super().__setitem__(key, value)
        self.dirty.add(key)

    def __delitem__(self, key: bytes) -> None:
        super().__delitem__(key)
        self.dirty.add(key)


@dataclass
class AnchorRecord:
    """What the contract holds for a root (issuer is the zero address if never anchored)."""

    issuer: str
    block_time: int
    leaf_count: int

    @property
    def exists(self) -> bool:
        return self.issuer != ZERO_ADDRESS and self.block_time != 0


@dataclass
class Receipt:
    tx_hash: str
    status: int
    block_number: int
    block_hash: str
    gas_used: int
    contract_address: str | None
    sender: str | None = None
    to: str | None = None
    logs: list[tuple[str, list[str], str]] = field(default_factory=list)  # (address, topics, data)

    def anchored_events(self, contract: str) -> list[tuple[str, str, int, int]]:
        """(issuer, root, leaf count, block time) of each v2 ``Anchored`` event that
        ``contract`` emitted in this transaction."""
        from lgcraft.provenance.contract import ANCHORED_V2_TOPIC

        out = []
        for address, topics, data in self.logs:
            if address.lower() != contract.lower() or len(topics) != 3 or topics[0] != ANCHORED_V2_TOPIC:
                continue
            raw = bytes.fromhex(data.removeprefix("0x"))
            if len(raw) != 64:
                continue
            out.append(("0x" + topics[1][-40:], topics[2], int.from_bytes(raw[:32], "big"),
                        int.from_bytes(raw[32:], "big")))
        return out


@dataclass
class SentTx:
    tx_hash: str
    raw: str
    nonce: int


class ChainClient:
    """One connection to one chain, through web3."""

    def __init__(self, w3, *, kind: str, endpoint: str | None, devchain: _DevChain | None = None):
        self.w3 = w3
        self.kind = kind
        self.endpoint = endpoint
        self._dev = devchain
        self._chain_id: int | None = None

    # -- basics --------------------------------------------------------------------------
    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = self._call(lambda: int(self.w3.eth.chain_id), "read the chain id")
        return self._chain_id

    def block_number(self) -> int:
        return self._call(lambda: int(self.w3.eth.block_number), "read the block number")

    def block_time(self, block_number: int) -> int:
        return self._call(lambda: int(self.w3.eth.get_block(block_number)["timestamp"]), "read a block")

    def _call(self, fn, what: str):
        try:
            return fn()
        except ChainError:
            raise
        except Exception as exc:  # requests/aiohttp/web3/eth-tester errors, all translated
            raise ChainError(f"cannot {what} on {self.describe()}: {_reason(exc)}",
                             hint=_hint(self.kind)) from exc

    def describe(self) -> str:
        if self.kind == "embedded":
            return "the embedded dev chain"
        from lgcraft.config import redact_url

        return f"node {redact_url(self.endpoint or '')}"

    def check_chain_id(self, expected: int | None) -> None:
        if expected is not None and self.chain_id != expected:
            raise ChainError(
                f"wrong chain: {self.describe()} has chain id {self.chain_id}, expected {expected}",
                hint="point --rpc-url at the chain the contract was deployed on",
            )

    # -- contract --------------------------------------------------------------------------
    def _contract(self, address: str, version: int = 2):
        from lgcraft.provenance.contract import load_artifact

        return self.w3.eth.contract(address=self.w3.to_checksum_address(address),
                                    abi=load_artifact(version)["abi"])

    def code_version(self, address: str) -> int | None:
        """One ``eth_getCode``: the lgcraft anchor contract version whose published
        runtime bytecode is at ``address`` (1 or 2), else None (other code, or none)."""
        from lgcraft.provenance.contract import version_of_code

        code = self._call(lambda: bytes(self.w3.eth.get_code(self.w3.to_checksum_address(address))),
                          "read contract code")
        return version_of_code(code)

    def has_anchor_code(self, address: str) -> bool:
        """The current (version 2) anchor contract is at ``address``."""
        from lgcraft.provenance.contract import CURRENT_VERSION

        return self.code_version(address) == CURRENT_VERSION

    def anchor_of(self, contract: str, root: str) -> AnchorRecord:
        """One ``eth_call`` to a version 1 contract: what it holds for ``root``."""
        def call():
            issuer, block_time, count = self._contract(contract, 1).functions.anchorOf(
                bytes.fromhex(root[2:])).call()
            return AnchorRecord(self.w3.to_checksum_address(issuer), int(block_time), int(count))

        return self._call(call, f"read root {root[:12]}... from contract {contract}")

    def anchored(self, contract: str, issuer: str, root: str, version: int = 2) -> AnchorRecord:
        """One ``eth_call``: what the contract holds for ``root`` anchored by ``issuer``
        (version 1: whoever anchored it first; the issuer is then the one it names)."""
        if version == 1:
            return self.anchor_of(contract, root)

        def call():
            block_time, count = self._contract(contract).functions.anchored(
                self.w3.to_checksum_address(issuer), bytes.fromhex(root[2:])).call()
            found = self.w3.to_checksum_address(issuer) if block_time else ZERO_ADDRESS
            return AnchorRecord(found, int(block_time), int(count))

        return self._call(call, f"read root {root[:12]}... of {issuer} from contract {contract}")

    def block_hash(self, block_number: int) -> tuple[str, int] | None:
        """(hash, timestamp) of the canonical block ``block_number``, None if the node has none."""
        def get():
            try:
                block = self.w3.eth.get_block(block_number)
            except Exception as exc:
                if type(exc).__name__ == "BlockNotFound":
                    return None
                raise
            if block is None:
                return None
            return "0x" + bytes(block["hash"]).hex(), int(block["timestamp"])

        return self._call(get, f"read block {block_number}")

    def find_anchor_tx(self, contract: str, issuer: str, root: str) -> str | None:
        """The transaction whose v2 ``Anchored`` event records ``root`` for ``issuer``
        (one ``eth_getLogs`` on the two indexed topics), else None."""
        from lgcraft.provenance.contract import ANCHORED_V2_TOPIC

        def get():
            logs = self.w3.eth.get_logs({
                "address": self.w3.to_checksum_address(contract), "fromBlock": 0, "toBlock": "latest",
                "topics": [ANCHORED_V2_TOPIC, "0x" + "00" * 12 + issuer[2:].lower(), root]})
            return "0x" + bytes(logs[-1]["transactionHash"]).hex() if logs else None

        return self._call(get, f"search the Anchored event of root {root[:12]}...")

    # -- transactions ------------------------------------------------------------------------
    def ensure_funds(self, address: str) -> None:
        """On the embedded chain, top the account up from the faucet; elsewhere a no-op."""
        if self._dev is not None:
            self._dev.fund(self.w3, address)

    def nonce(self, address: str) -> int:
        return self._call(lambda: int(self.w3.eth.get_transaction_count(address, "pending")),
                          "read the account nonce")

    def _fees(self) -> dict[str, int]:
        block = self.w3.eth.get_block("latest")
        base = int(block.get("baseFeePerGas") or 0)
        if base:
            tip = 10**9
            try:
                tip = int(self.w3.eth.max_priority_fee)
            except Exception:  # nodes without eth_maxPriorityFeePerGas
                pass
            return {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}
        return {"gasPrice": int(self.w3.eth.gas_price)}

    def build_deploy(self, signer, nonce: int, version: int = 2) -> SentTx:
        """The deploy transaction of the anchor contract ``version`` (2; 1 only for benchmarks)."""
        from lgcraft.provenance.contract import load_artifact

        artifact = load_artifact(version)

        def build():
            tx = {"from": signer.address, "data": artifact["bytecode"], "nonce": nonce,
                  "chainId": self.chain_id, **self._fees()}
            tx["gas"] = int(self.w3.eth.estimate_gas({k: v for k, v in tx.items() if k != "nonce"}) * 1.2)
            return tx

        return self._sign(signer, self._call(build, "prepare the deploy transaction"))

    def build_anchor(self, signer, contract: str, root: str, leaf_count: int, nonce: int) -> SentTx:
        def build():
            fn = self._contract(contract).functions.anchor(bytes.fromhex(root[2:]), leaf_count)
            tx = fn.build_transaction({"from": signer.address, "nonce": nonce,
                                       "chainId": self.chain_id, **self._fees()})
            tx["gas"] = int(tx["gas"] * 1.2)
            return tx

        return self._sign(signer, self._call(build, "prepare the anchor transaction"))

    def _sign(self, signer, tx: dict) -> SentTx:
        signed = signer.sign_transaction(tx)
        raw = bytes(signed.raw_transaction)
        return SentTx(tx_hash="0x" + bytes(signed.hash).hex(), raw="0x" + raw.hex(), nonce=tx["nonce"])

    def send_raw(self, raw: str) -> str:
        """Broadcast; returns the tx hash. A node that already knows it is not an error."""
        try:
            tx_hash = self.w3.eth.send_raw_transaction(bytes.fromhex(raw[2:]))
            if self._dev is not None:
                self._dev.save()
            return "0x" + bytes(tx_hash).hex()
        except Exception as exc:
            text = _reason(exc).lower()
            if "already known" in text or "already imported" in text:
                from eth_utils import keccak

                return "0x" + keccak(bytes.fromhex(raw[2:])).hex()
            raise ChainError(f"{self.describe()} rejected the transaction: {_reason(exc)}",
                             hint=_hint(self.kind)) from exc

    def receipt(self, tx_hash: str) -> Receipt | None:
        def get():
            try:
                r = self.w3.eth.get_transaction_receipt(tx_hash)
            except Exception as exc:
                if type(exc).__name__ in ("TransactionNotFound", "TransactionNotFoundError"):
                    return None
                raise
            if r is None:
                return None
            logs = [(str(log["address"]), ["0x" + bytes(t).hex() for t in log["topics"]],
                     "0x" + bytes(log["data"]).hex()) for log in r.get("logs") or []]
            return Receipt(tx_hash=tx_hash, status=int(r["status"]), block_number=int(r["blockNumber"]),
                           block_hash="0x" + bytes(r["blockHash"]).hex(), gas_used=int(r["gasUsed"]),
                           contract_address=r.get("contractAddress"), sender=r.get("from"),
                           to=r.get("to"), logs=logs)

        return self._call(get, f"read the receipt of {tx_hash}")

    def wait(self, tx_hash: str, confirmations: int, timeout: float, poll: float = 0.5) -> Receipt:
        """Wait until ``tx_hash`` is mined with ``confirmations`` blocks (its own counts 1)."""
        deadline = time.monotonic() + timeout
        while True:
            receipt = self.receipt(tx_hash)
            if receipt is not None:
                if self._dev is not None and self.block_number() < receipt.block_number + confirmations - 1:
                    self._dev.mine(self.w3, receipt.block_number + confirmations - 1 - self.block_number())
                if self.block_number() >= receipt.block_number + confirmations - 1:
                    # re-read: a reorg may have moved it
                    again = self.receipt(tx_hash)
                    if again is not None:
                        return again
            if time.monotonic() > deadline:
                state = "mined but not yet confirmed" if receipt else "not mined"
                raise ChainError(f"transaction {tx_hash} is {state} after {timeout:g} s",
                                 hint="rerun the command later; it resumes without sending twice")
            time.sleep(poll)

    def close(self) -> None:
        if self._dev is not None:
            self._dev.close()


class AgreeingReader:
    """Several nodes of one chain asked the same questions (``--rpc-url`` repeated):
    an answer counts only when all of them give it, else `ChainError` ("could not
    check"). One lying node can then no longer make a fake pass or a genuine piece fail
    on its own word; it can still make the check impossible."""

    def __init__(self, clients: list[ChainClient]) -> None:
        self.clients = clients

    def _ask(self, method: str, *args: Any) -> Any:
        answers = [getattr(client, method)(*args) for client in self.clients]
        for client, answer in zip(self.clients[1:], answers[1:], strict=True):
            if answer != answers[0]:
                raise ChainError(f"the nodes disagree on {method}: {self.clients[0].describe()} says "
                                 f"{answers[0]}, {client.describe()} says {answer}",
                                 hint="one of them is lagging or lying; check again later or with other nodes")
        return answers[0]

    def code_version(self, address: str) -> int | None:
        return self._ask("code_version", address)

    def anchored(self, contract: str, issuer: str, root: str, version: int = 2) -> AnchorRecord:
        return self._ask("anchored", contract, issuer, root, version)

    def receipt(self, tx_hash: str) -> Receipt | None:
        return self._ask("receipt", tx_hash)

    def block_hash(self, block_number: int) -> tuple[str, int] | None:
        return self._ask("block_hash", block_number)


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    if "Max retries exceeded" in text or "Connection refused" in text or "NewConnectionError" in text:
        return "connection refused (is the node running?)"
    if "timed out" in text.lower():
        return "the node did not answer in time"
    return text.splitlines()[0][:300]


def _hint(kind: str) -> str:
    if kind == "embedded":
        return "the embedded chain lives in the store folder; check it is intact"
    return "check --rpc-url (or [provenance] rpc_url) and that the node is running"


# --------------------------------------------------------------------------------------------
class _DevChain:
    """py-evm state persisted in SQLite (one table of key -> value)."""

    def __init__(self, path: Path, readonly: bool = False):
        self.path = path
        self.readonly = readonly
        self.conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL)")
        self.kv = _TrackingDict()
        self.backend = None

    def start(self):
        from eth.db.atomic import AtomicDB
        from eth.db.backends.memory import MemoryDB
        from eth_tester import EthereumTester, PyEVMBackend

        rows = self.conn.execute("SELECT k, v FROM kv").fetchall()
        backend = PyEVMBackend()
        if rows:
            self.kv = _TrackingDict((bytes(k), bytes(v)) for k, v in rows)
            chain_class = type(backend.chain)
            backend.chain = chain_class(AtomicDB(MemoryDB(self.kv)))
        else:
            # first use: adopt the fresh genesis and persist all of it
            fresh = backend.chain.chaindb.db.wrapped_db.kv_store
            self.kv = _TrackingDict(fresh)
            self.kv.dirty = set(fresh)
            from eth.db.atomic import AtomicDB as _A  # noqa: N814

            backend.chain = type(backend.chain)(_A(MemoryDB(self.kv)))
            self.save()
        self.backend = backend
        self.tester = EthereumTester(backend=backend, auto_mine_transactions=True)
        return self.tester

    def save(self) -> None:
        if self.readonly or not self.kv.dirty:
            return
        dirty = self.kv.dirty
        self.kv.dirty = set()
        with self.conn:  # one transaction: all of a block's state or none
            self.conn.execute("BEGIN IMMEDIATE")
            for key in dirty:
                if key in self.kv:
                    self.conn.execute("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", (key, self.kv[key]))
                else:
                    self.conn.execute("DELETE FROM kv WHERE k = ?", (key,))

    def fund(self, w3, address: str) -> None:
        if int(w3.eth.get_balance(address)) >= FAUCET_TOP_UP_WEI // 10:
            return
        faucet = self.backend.account_keys[0]
        from eth_account import Account

        faucet_address = faucet.public_key.to_checksum_address()
        tx = {"to": address, "value": FAUCET_TOP_UP_WEI, "gas": 21000,
              "nonce": int(w3.eth.get_transaction_count(faucet_address)),
              "chainId": int(w3.eth.chain_id), "maxFeePerGas": 2 * 10**10, "maxPriorityFeePerGas": 10**9}
        signed = Account.sign_transaction(tx, faucet.to_bytes())
        w3.eth.send_raw_transaction(signed.raw_transaction)
        self.save()

    def mine(self, w3, blocks: int) -> None:
        if blocks > 0:
            self.tester.mine_blocks(blocks)
            self.save()

    def close(self) -> None:
        try:
            self.save()
        finally:
            self.conn.close()


def open_embedded(folder: Path, *, create: bool = True) -> ChainClient:
    """The embedded dev chain persisted in ``folder`` (created on first use)."""
    import logging

    from web3 import EthereumTesterProvider, Web3

    path = Path(folder) / DEV_DB_NAME
    if not path.exists() and not create:
        raise ChainError(f"no embedded dev chain in {folder}",
                         hint="verify on the machine whose store anchored the bundle, or pass --rpc-url")
    logging.getLogger("eth").setLevel(logging.WARNING)
    dev = _DevChain(path, readonly=not create)
    tester = dev.start()
    w3 = Web3(EthereumTesterProvider(tester))
    return ChainClient(w3, kind="embedded", endpoint=None, devchain=dev)


def open_rpc(url: str, *, auth: str | None = None, timeout: float = 15.0) -> ChainClient:
    """A client for the JSON-RPC node at ``url`` (http(s) or ws(s) is not supported)."""
    from web3 import HTTPProvider, Web3

    from lgcraft.config import redact_url, split_url

    shown = redact_url(url)  # an error must not print credentials in the URL
    try:
        parts = split_url(url)
    except ValueError as exc:
        raise InputError(f"--rpc-url {shown!r} is not a valid URL ({exc})", hint="e.g. http://127.0.0.1:8545") from exc
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"--rpc-url {shown!r} is not an http(s) URL", hint="e.g. http://127.0.0.1:8545")
    request_kwargs: dict[str, Any] = {"timeout": timeout}
    if auth:  # LGCRAFT_RPC_AUTH, e.g. "Bearer <token>" for a permissioned Besu node
        request_kwargs["headers"] = {"Content-Type": "application/json", "Authorization": auth}
    provider = HTTPProvider(url, request_kwargs=request_kwargs)
    provider.exception_retry_configuration = None
    return ChainClient(Web3(provider), kind="rpc", endpoint=url)
