"""Payloads encrypted before they leave the process: what a trip's history holds is
ciphertext, card numbers and names included.

Temporal stores a workflow's input, its activities' arguments and results, and its
failures in the server's history, where anyone who can open the Web UI reads them. A
payload codec (the SDK's PayloadCodec, in the client's data converter) encrypts each
payload with AES-256-GCM in the client, the worker and the API, so the server only ever
holds ciphertext; failure messages and stack traces are moved into an encrypted payload
too (``DefaultFailureConverterWithEncodedAttributes``).

Keys come from configuration, each with an id that travels with the payload, so keys can
rotate: new payloads use the first key, and any key still listed decrypts older ones.

* ``TRAVEL_CODEC_KEYS``: ``id:base64key,id:base64key`` (32-byte keys), newest first; or
* ``TRAVEL_CODEC_KEY_FILE``: a JSON file ``{"keys": [{"id": ..., "key": base64}, ...]}``,
  by default ``.workbook/codec-keys.json``, made with one random key on first use, so a
  developer's machine needs no setup (and keeps its key out of git: .workbook/ is ignored).

``CodecServer`` answers Temporal's codec server protocol (POST /encode and /decode with
``{"payloads": [...]}``), so that the Web UI and ``temporal workflow show --codec-endpoint``
can show a history decrypted to someone allowed to: with ``TRAVEL_CODEC_TOKEN`` set, only
a request that brings that bearer token. api.py serves it under /codec.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import secrets
from pathlib import Path
from typing import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

from workbook.world import REPO_ROOT

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
KEYS_ENV, KEY_FILE_ENV, TOKEN_ENV = "TRAVEL_CODEC_KEYS", "TRAVEL_CODEC_KEY_FILE", "TRAVEL_CODEC_TOKEN"
DEFAULT_KEY_FILE = REPO_ROOT / ".workbook" / "codec-keys.json"
NONCE_BYTES = 12


class CodecError(ValueError):
    """A payload that cannot be decrypted here (a key this process lacks, or the wrong one),
    or keys that cannot be read: the message says which."""


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: dict[str, bytes]):
        """``keys``: key id to 32-byte key, the first one encrypts."""
        if not keys:
            raise CodecError("no encryption key is configured")
        for key_id, key in keys.items():
            if len(key) != 32:
                raise CodecError(f"key {key_id!r} is {len(key)} bytes; AES-256 needs 32")
        self.current = next(iter(keys))
        self.ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self.ciphers[self.current]
        encoded = []
        for payload in payloads:
            nonce = secrets.token_bytes(NONCE_BYTES)
            sealed = cipher.encrypt(nonce, payload.SerializeToString(), self.current.encode())
            encoded.append(Payload(metadata={"encoding": ENCODING, KEY_ID: self.current.encode()}, data=nonce + sealed))
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decoded(payload) for payload in payloads]

    def _decoded(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before encryption was on: pass it through as it is
        key_id = payload.metadata.get(KEY_ID, b"").decode()
        cipher = self.ciphers.get(key_id)
        if cipher is None:
            raise CodecError(
                f"a payload is encrypted with key {key_id!r}, which is not among this process's keys "
                f"({', '.join(self.ciphers)}): add it to {KEYS_ENV} (or the key file) to read it"
            )
        try:
            plain = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], key_id.encode())
        except InvalidTag:
            raise CodecError(
                f"a payload marked with key {key_id!r} does not decrypt with the key configured under "
                "that id: it is the wrong key, or the payload was changed"
            ) from None
        return Payload.FromString(plain)


def configured_keys() -> dict[str, bytes]:
    """The keys from TRAVEL_CODEC_KEYS, else from the key file (made on first use)."""
    listed = os.environ.get(KEYS_ENV, "").strip()
    if listed:
        keys = {}
        for item in listed.split(","):
            key_id, _, value = item.strip().partition(":")
            if not key_id or not value:
                raise CodecError(f"{KEYS_ENV} should read id:base64key[,id:base64key...]; got {item.strip()!r}")
            keys[key_id] = _key(value, key_id)
        return keys
    path = Path(os.environ.get(KEY_FILE_ENV) or DEFAULT_KEY_FILE)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        made = {"keys": [{"id": "local-1", "key": base64.b64encode(secrets.token_bytes(32)).decode()}]}
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # readable by its owner only
        with os.fdopen(descriptor, "w") as file:
            json.dump(made, file, indent=2)
    try:
        listed_keys = json.loads(path.read_text())["keys"]
        return {entry["id"]: _key(entry["key"], entry["id"]) for entry in listed_keys}
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CodecError(f"cannot read the encryption keys in {path}: {err}") from None


def _key(value: str, key_id: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise CodecError(f"key {key_id!r} is not base64") from None


def data_converter(keys: dict[str, bytes] | None = None) -> DataConverter:
    """The data converter every client, worker and API of the capstone connects with."""
    return dataclasses.replace(
        DataConverter.default,
        payload_codec=EncryptionCodec(keys or configured_keys()),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def secured(client):
    """``client``'s connection, with the capstone's encrypting data converter."""
    from temporalio.client import Client

    return Client(client.service_client, namespace=client.namespace, data_converter=data_converter())


class CodecServer:
    """Temporal's codec server protocol over a codec: POST /encode and /decode take and
    return ``{"payloads": [...]}`` (payloads in protobuf's JSON form)."""

    def __init__(self, codec: EncryptionCodec, token: str | None = None):
        self.codec = codec
        self.token = os.environ.get(TOKEN_ENV) if token is None else token

    def allowed(self, authorization: str | None) -> bool:
        return not self.token or secrets.compare_digest(authorization or "", f"Bearer {self.token}")

    async def answer(self, operation: str, body: bytes) -> dict:
        from google.protobuf import json_format
        from temporalio.api.common.v1 import Payloads

        payloads = json_format.Parse(body, Payloads())
        change = self.codec.encode if operation == "encode" else self.codec.decode
        changed = Payloads(payloads=await change(payloads.payloads))
        return json.loads(json_format.MessageToJson(changed))
