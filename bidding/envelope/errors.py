"""Refusals of the envelope format: each with a stable code, a Chinese and an English message.

They are :class:`trading.errors.DomainError` subclasses, so the server's one exception handler turns them into
HTTP answers, and the command line prints the same two messages. Messages never carry secrets (no key, share or
plaintext byte ever appears in one).
"""

from __future__ import annotations

from typing import Any, ClassVar

from trading.errors import DomainError


class EnvelopeError(DomainError):
    """Base of every envelope refusal; ``code`` is stable and starts with ``envelope.``."""

    status_code: ClassVar[int] = 422
    code = "envelope.error"
    default_zh: ClassVar[str] = "投标文件信封有误"
    default_en: ClassVar[str] = "The sealed bid envelope is not valid"

    def __init__(
        self,
        message_zh: str | None = None,
        message_en: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        rule: str | None = None,
    ) -> None:
        super().__init__(
            message_zh if message_zh is not None else self.default_zh,
            message_en if message_en is not None else self.default_en,
            rule=rule,
            details=details,
        )


class Malformed(EnvelopeError):
    """The bytes do not follow the v1 format (bad JSON, missing field, wrong length, not canonical …)."""

    status_code = 400
    code = "envelope.malformed"
    default_zh = "投标文件格式不正确"
    default_en = "The sealed bid is malformed"


class UnsupportedFormat(Malformed):
    code = "envelope.unsupported_format"
    default_zh = "不支持的投标文件格式版本"
    default_en = "Unsupported sealed bid format version"


class UnsupportedSuite(Malformed):
    code = "envelope.unsupported_suite"
    default_zh = "不支持的密码算法套件"
    default_en = "Unsupported algorithm suite"


class InvalidContext(EnvelopeError):
    """A :class:`~bidding.envelope.context.BidContext` that cannot describe a real section."""

    code = "envelope.invalid_context"
    default_zh = "标段信息或开标委员会设置不正确"
    default_en = "The section context or the opening committee is not valid"


class InvalidKey(EnvelopeError):
    code = "envelope.invalid_key"
    default_zh = "密钥格式不正确"
    default_en = "The key is not valid for this suite"


class WrongPassphrase(EnvelopeError):
    code = "envelope.wrong_passphrase"
    default_zh = "口令错误，或密钥文件已损坏"
    default_en = "Wrong passphrase, or the key file is damaged"


class BadSignature(EnvelopeError):
    code = "envelope.bad_signature"
    default_zh = "投标文件签名无效，或不是该投标人登记的签名密钥所签"
    default_en = "The manifest signature is not valid for the bidder's registered signing key"


class WrongSection(EnvelopeError):
    code = "envelope.wrong_section"
    default_zh = "该投标文件是为其他标段密封的"
    default_en = "This bid was sealed for another bid section"


class WrongBidder(EnvelopeError):
    code = "envelope.wrong_bidder"
    default_zh = "该投标文件的投标人与提交人不一致"
    default_en = "This bid was sealed for another bidder (or another role)"


class WrongCommittee(EnvelopeError):
    code = "envelope.wrong_committee"
    default_zh = "该投标文件未按本标段开标委员会的公钥密封"
    default_en = "This bid was not sealed to this section's opening committee"


class SealedSharesMismatch(EnvelopeError):
    code = "envelope.sealed_shares_mismatch"
    default_zh = "密封的密钥分片与清单不符"
    default_en = "The sealed key shares do not match the manifest"


class CiphertextMismatch(EnvelopeError):
    code = "envelope.ciphertext_mismatch"
    default_zh = "密文的长度或摘要与清单不符"
    default_en = "The ciphertext's size or SHA-256 does not match the manifest"


class DecryptionFailed(EnvelopeError):
    """The chunked AEAD refused the ciphertext; subclasses say how."""

    code = "envelope.decryption_failed"
    default_zh = "解密失败：密文被篡改或与本投标不符"
    default_en = "Decryption failed: the ciphertext was altered or belongs elsewhere"


class ChunkAuthenticationFailed(DecryptionFailed):
    code = "envelope.chunk_tampered"
    default_zh = "解密失败：密文分块未通过认证（被篡改、调换顺序或来自其他信封）"
    default_en = "Decryption failed: a ciphertext chunk did not authenticate (altered, reordered or from elsewhere)"


class TruncatedCiphertext(DecryptionFailed):
    code = "envelope.truncated"
    default_zh = "解密失败：密文不完整（缺少最后的分块）"
    default_en = "Decryption failed: the ciphertext is truncated (the final chunk is missing)"


class TrailingCiphertext(DecryptionFailed):
    code = "envelope.trailing_data"
    default_zh = "解密失败：最后分块之后还有多余数据"
    default_en = "Decryption failed: there is data after the final chunk"


class ShareDecryptionFailed(EnvelopeError):
    code = "envelope.share_undecryptable"
    default_zh = "无法用本开标人的私钥解开该密钥分片"
    default_en = "The key share cannot be opened with this opener's private key"


class ShareCommitmentMismatch(EnvelopeError):
    code = "envelope.share_mismatch"
    default_zh = "密钥分片与投标人清单中的承诺不符"
    default_en = "The key share does not match its commitment in the bidder's manifest"


class KeyCommitmentMismatch(EnvelopeError):
    code = "envelope.key_commitment_mismatch"
    default_zh = "数据密钥与投标人清单中的承诺不符"
    default_en = "The data key does not match its commitment in the bidder's manifest"


class NotEnoughShares(EnvelopeError):
    code = "envelope.not_enough_shares"
    default_zh = "有效的密钥分片不足，尚不能解密"
    default_en = "Not enough valid key shares to open the envelope yet"


class InconsistentShares(EnvelopeError):
    """More than k shares, each matching its commitment, that do not lie on one polynomial (docs §10.2)."""

    code = "envelope.inconsistent_shares"
    default_zh = "密钥分片虽与各自的承诺相符，但不在同一多项式上：投标人分发的分片不一致"
    default_en = (
        "The key shares match their commitments but do not lie on one polynomial: the bidder dealt them inconsistently"
    )


class ShareDisputed(EnvelopeError):
    """Too few valid shares, and an opener has shown that the share the bidder sealed to it is bad (docs §10.3)."""

    code = "envelope.share_disputed"
    default_zh = "有效密钥分片不足，且有开标人证明投标人密封给其的分片有误：待监督人员裁定"
    default_en = (
        "Not enough valid key shares, and an opener has shown that the bidder sealed it a bad share: "
        "awaiting the supervisors' ruling"
    )


class DisputeUnfounded(EnvelopeError):
    """An opener disputes a share, but its disclosed key opens the sealed share to one matching its commitment."""

    code = "envelope.dispute_unfounded"
    default_zh = "异议不成立：所披露的私钥解开的分片与投标人的承诺相符，请上传该分片"
    default_en = "The dispute is unfounded: the disclosed key opens a share that matches its commitment; upload it"


class InvalidPriceForm(EnvelopeError):
    code = "envelope.price_form_invalid"
    default_zh = "开标一览表（报价表）内容不正确"
    default_en = "The opening form (price form) is not valid"


class InvalidDocuments(EnvelopeError):
    code = "envelope.documents_invalid"
    default_zh = "投标文件夹中有不能封装的文件"
    default_en = "The bid documents cannot be packed"
