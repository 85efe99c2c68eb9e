"""Encryption at rest of credential secrets.

``settings.CREDENTIAL_ENCRYPTION_KEYS`` maps a key id to a Fernet key: the first entry
encrypts, every entry decrypts, and each ciphertext is stored with the id of its key, so
keys rotate by putting a new key first and re-encrypting (``platform_credential_reencrypt_all``).

The plaintext names the credential it belongs to, so a ciphertext copied into another
credential's row (by someone with write access to the table) does not decrypt there.
"""

from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class CredentialKeyError(ImproperlyConfigured):
    """A key id is missing from CREDENTIAL_ENCRYPTION_KEYS, or a key is not a Fernet key."""


class CredentialDecryptionError(Exception):
    """A ciphertext does not decrypt with its key, or belongs to another credential."""


def _fernet(key_id: str) -> Fernet:
    keys = settings.CREDENTIAL_ENCRYPTION_KEYS
    if key_id not in keys:
        raise CredentialKeyError(
            f"Credential encryption key {key_id!r} is not in CREDENTIAL_ENCRYPTION_KEYS; "
            "keep every key that still encrypts a stored secret until platform_credential_reencrypt_all has run."
        )
    try:
        return Fernet(keys[key_id])
    except (ValueError, TypeError) as error:
        raise CredentialKeyError(f"CREDENTIAL_ENCRYPTION_KEYS[{key_id!r}] is not a valid Fernet key (32 url-safe base64 bytes).") from error


def current_key_id() -> str:
    """The id of the key new ciphertexts are made with (the first configured)."""
    keys = settings.CREDENTIAL_ENCRYPTION_KEYS
    if not keys:
        raise CredentialKeyError("CREDENTIAL_ENCRYPTION_KEYS is empty; configure at least one Fernet key.")
    return next(iter(keys))


def secret_encrypt(*, secret: str, credential_id, key_id: str | None = None) -> tuple[str, bytes]:
    """Encrypt ``secret`` for the credential ``credential_id``; return (key id, ciphertext)."""
    key_id = key_id or current_key_id()
    payload = json.dumps({"credential_id": str(credential_id), "secret": secret}).encode()
    return key_id, _fernet(key_id).encrypt(payload)


def secret_decrypt(*, ciphertext: bytes | memoryview, key_id: str, credential_id) -> str:
    """The clear secret of a ciphertext made by ``secret_encrypt`` for this credential.

    Raises CredentialKeyError when the key is not configured, CredentialDecryptionError
    when the ciphertext is corrupt, made with another key, or bound to another credential.
    """
    try:
        payload = json.loads(_fernet(key_id).decrypt(bytes(ciphertext)))
    except InvalidToken as error:
        raise CredentialDecryptionError(f"The secret of credential {credential_id} does not decrypt with key {key_id!r}.") from error
    if payload.get("credential_id") != str(credential_id):
        raise CredentialDecryptionError(f"The stored ciphertext of credential {credential_id} belongs to another credential.")
    return payload["secret"]
