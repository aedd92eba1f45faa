"""The ``bidding`` command line: what a bidder (投标人) and an opener (开标人) run on their own machines.

Bidders: ``login`` → ``keygen`` → ``register`` → ``fetch`` → ``seal`` (offline) → ``submit`` (resumable) →
``status`` / ``verify-receipt`` / ``withdraw``. Openers: ``login`` → ``opener keygen`` → ``opener register`` →
(after the deadline, once staff start the opening) ``opener open``. Trading-centre staff: ``keygen`` →
``reserve register`` → ``fetch`` → ``reserve seal`` → ``reserve submit`` (bidding.cli_reserve). Private keys,
data keys and passphrases never leave this machine and are never printed.

Files it writes:

* ``key.pem`` — the bidder's Ed25519 signing key, PKCS#8 PEM, encrypted under the passphrase (mode 0600);
* ``opener.key`` — the opener's HPKE private key in the key-file format of docs/envelope.md §3.2 (Argon2id,
  AES-256-GCM; mode 0600), and beside it ``opener.key.signing.pem`` — the opener's Ed25519 share-signing key,
  PKCS#8 PEM encrypted under the same passphrase (mode 0600). Both are needed to open;
* ``section.json`` — a section's bidding parameters, checked against the published notice (and the log);
* ``bid.bid`` — the sealed bid (docs/envelope.md §8); ``bid.bid.upload.json`` — the upload in progress, so a
  second ``submit`` resumes; ``bid.bid.receipt.json`` — the platform's signed receipt;
* ``~/.config/trading-bidding/config.json`` (mode 0600; ``--config DIR`` elsewhere) — the server, the API
  token from ``login`` and the organisation's credit code saved by ``register --credit-code``.

Messages are in Chinese first, then a short English version. Exit status: 0 done, 1 refused or failed,
2 bad usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import getpass
import hashlib
import json
import os
import re
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from bidding.client import BiddingClient
    from bidding.envelope import OpenerPrivateKey
    from trading.log.note import Checkpoint

DEFAULT_SERVER = "http://127.0.0.1:8000"
SHANGHAI = ZoneInfo("Asia/Shanghai")
SECTION_FORMAT = "trading-bidding-section/v1"
UPLOAD_FORMAT = "trading-bidding-upload/v1"
SUITES = ("hpke-x25519-sha256-aes256gcm", "hpke-mlkem768x25519-sha256-aes256gcm")
STATES = {
    "active": "有效 / active",
    "replaced": "已被新投标替换 / replaced",
    "withdrawn": "已撤回 / withdrawn",
    "waiting": "等待开标人上传分片 / waiting for openers",
    "opening": "正在解密 / opening",
    "opened": "已开标 / opened",
    "failed": "流标 / failed",
    "not_started": "尚未开始 / not started",
}
#: Consecutive network failures tolerated while uploading before giving up (a later run resumes).
UPLOAD_RETRIES = 6


class Failure(Exception):
    """A refusal made here, on the client's side, explained in both languages."""

    def __init__(self, message_zh: str, message_en: str, *, code: str = "refused") -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en
        self.code = code


# ------------------------------------------------------------------------------------------------
# Output


def say(zh: str, en: str = "") -> None:
    print(f"{zh} / {en}" if en else zh, flush=True)


def warn(zh: str, en: str) -> None:
    print(f"注意：{zh} / Warning: {en}", file=sys.stderr, flush=True)


def show_error(code: str, zh: str, en: str, details: dict[str, Any] | None = None, rule: str | None = None) -> None:
    print(f"错误：{zh}", file=sys.stderr)
    print(f"Error: {en} [{code}]", file=sys.stderr)
    if rule:
        print(f"依据 / rule: {rule}", file=sys.stderr)
    if details:
        print("详情 / details: " + json.dumps(details, ensure_ascii=False, sort_keys=True), file=sys.stderr)
    sys.stderr.flush()


def local_time(value: str | datetime | None) -> str:
    if value is None:
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S（北京时间 / UTC+8）")


def yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d} 元"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@contextlib.contextmanager
def progress_bar(description: str, total: int, *, unit_bytes: bool = True) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr (only on a terminal); yields ``set(completed)``."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    console = Console(stderr=True)
    columns: list[Any] = [TextColumn("{task.description}"), BarColumn()]
    columns += [DownloadColumn(), TransferSpeedColumn()] if unit_bytes else [MofNCompleteColumn()]
    columns.append(TimeRemainingColumn())
    with Progress(*columns, console=console, disable=not console.is_terminal, transient=False) as progress:
        task = progress.add_task(description, total=total)
        yield lambda completed: progress.update(task, completed=completed)


# ------------------------------------------------------------------------------------------------
# Files, secrets and configuration


def write_private(path: Path, data: bytes, *, overwrite: bool = False) -> None:
    """Write a file readable by its owner only; refuse to replace an existing key."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise Failure(
            f"{path} 已存在，为免覆盖密钥，请换一个文件名", f"{path} exists; choose another name", code="file_exists"
        ) from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(path, 0o600)


def write_json(path: Path, value: Any) -> None:
    """Write a JSON file atomically (temporary file, fsync, rename)."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    with open(partial, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(partial, path)


def read_json(path: Path, what_zh: str, what_en: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Failure(f"找不到{what_zh}：{path}", f"No {what_en} at {path}", code="file_not_found") from None
    except (ValueError, UnicodeDecodeError):
        raise Failure(f"{what_zh}不是有效的 JSON：{path}", f"{path} is not valid JSON", code="bad_file") from None


def config_dir(args: argparse.Namespace) -> Path:
    if getattr(args, "config", None):
        return Path(args.config)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "trading-bidding"


def load_config(args: argparse.Namespace) -> dict[str, Any]:
    path = config_dir(args) / "config.json"
    if not path.exists():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise Failure(f"配置文件已损坏：{path}", f"The config file is damaged: {path}", code="bad_config") from None
    return value if isinstance(value, dict) else {}


def save_config(args: argparse.Namespace, config: dict[str, Any]) -> Path:
    """Save the configuration (it holds an API token) with mode 0600 in a 0700 directory."""
    directory = config_dir(args)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / "config.json"
    partial = directory / ".config.json.partial"
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    write_private(partial, (json.dumps(config, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode())
    os.replace(partial, path)
    return path


def server_of(args: argparse.Namespace) -> str:
    config = load_config(args)
    return (
        getattr(args, "server", None) or os.environ.get("BIDDING_SERVER") or config.get("server") or DEFAULT_SERVER
    ).rstrip("/")


def token_of(args: argparse.Namespace, server: str) -> str | None:
    explicit = getattr(args, "token", None) or os.environ.get("BIDDING_TOKEN")
    if explicit:
        return explicit
    config = load_config(args)
    # A stored token is sent only to the server it came from.
    if config.get("token") and str(config.get("server", "")).rstrip("/") == server:
        return str(config["token"])
    return None


def make_client(args: argparse.Namespace, *, signed_in: bool = True) -> BiddingClient:
    from bidding.client import BiddingClient

    server = server_of(args)
    token = token_of(args, server) if signed_in else None
    if signed_in and not token:
        raise Failure(
            f"尚未登录 {server}：请先运行 bidding login --username 用户名（或设置 BIDDING_TOKEN）",
            f"Not signed in to {server}: run `bidding login --username NAME` (or set BIDDING_TOKEN)",
            code="not_signed_in",
        )
    return BiddingClient(server, token, on_unavailable=_waiting_out)


def _waiting_out(error: Any, seconds: float) -> None:
    """A 503, or a dropped connection, the client waits out: every bidding step is safe to send again."""
    warn(
        f"平台暂时不可用（{error.message_zh}），{seconds:g} 秒后重试",
        f"the platform is briefly unavailable ({error.code}); trying again in {seconds:g} s",
    )


def _strip_newline(text: str) -> str:
    return text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text


#: How to give the passphrase where nobody can type it (CI, a pipe, </dev/null).
NO_TERMINAL_PASSPHRASE = (
    "没有可输入口令的终端：请设置环境变量 BIDDING_PASSPHRASE，或用 --passphrase-file F 从文件读取口令",
    "No terminal to type the passphrase at: set BIDDING_PASSPHRASE, or use --passphrase-file F to read it from a file",
)
NO_TERMINAL_PASSWORD = (
    "没有可输入密码的终端：请用 --password 给出密码",
    "No terminal to type the password at: give it with --password",
)


def ask_secret(prompt: str, no_terminal: tuple[str, str]) -> str:
    """A secret typed at the terminal, not echoed; without one, a refusal that says how else to give it.

    getpass would fall back to reading standard input (echoing it, with a warning) and die with EOFError
    when that is empty, as it is in CI or under </dev/null.
    """
    if not sys.stdin.isatty():
        raise Failure(*no_terminal, code="no_terminal")
    try:
        return getpass.getpass(prompt)
    except EOFError:
        raise Failure(*no_terminal, code="no_terminal") from None


def read_passphrase(args: argparse.Namespace, *, new: bool = False, allow_empty: bool = False) -> str:
    """The passphrase from --passphrase-file, else BIDDING_PASSPHRASE, else a prompt (never echoed)."""
    if getattr(args, "passphrase_file", None):
        try:
            passphrase = _strip_newline(Path(args.passphrase_file).read_text(encoding="utf-8"))
        except OSError as exc:
            raise Failure(
                f"无法读取口令文件：{exc.strerror}", f"Cannot read the passphrase file: {exc.strerror}"
            ) from None
    elif os.environ.get("BIDDING_PASSPHRASE") is not None:
        passphrase = os.environ["BIDDING_PASSPHRASE"]
    else:
        passphrase = ask_secret("口令 / passphrase: ", NO_TERMINAL_PASSPHRASE)
        if new and passphrase:
            again = ask_secret("再输一次 / again: ", NO_TERMINAL_PASSPHRASE)
            if again != passphrase:
                raise Failure("两次输入的口令不一致", "The passphrases do not match", code="passphrase_mismatch")
    if not passphrase and not allow_empty:
        raise Failure("口令不能为空", "The passphrase must not be empty", code="empty_passphrase")
    return passphrase


def raw_public(key: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_signing_key(path: Path, args: argparse.Namespace, *, passphrase: str | None = None) -> Ed25519PrivateKey:
    """An Ed25519 key from PKCS#8 PEM, asking for the passphrase only if the file is encrypted."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise Failure(f"找不到密钥文件：{path}", f"No key file at {path}", code="file_not_found") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:  # encrypted: it needs the passphrase
        secret = passphrase if passphrase is not None else read_passphrase(args)
        try:
            key = serialization.load_pem_private_key(data, password=secret.encode("utf-8"))
        except (ValueError, TypeError):
            raise Failure(
                "口令错误，或密钥文件已损坏", "Wrong passphrase, or the key file is damaged", code="wrong_passphrase"
            ) from None
    except ValueError:
        raise Failure(f"{path} 不是 PEM 格式的私钥", f"{path} is not a PEM private key", code="bad_key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise Failure(f"{path} 不是 Ed25519 私钥", f"{path} is not an Ed25519 private key", code="bad_key")
    return key


def encrypted_pem(key: Ed25519PrivateKey, passphrase: str) -> bytes:
    from cryptography.hazmat.primitives import serialization

    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def opener_signing_path(key_path: Path) -> Path:
    return key_path.with_name(key_path.name + ".signing.pem")


def load_opener_keys(path: Path, args: argparse.Namespace) -> tuple[OpenerPrivateKey, Ed25519PrivateKey]:
    from bidding.envelope import EnvelopeError, unprotect_private_key

    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise Failure(f"找不到开标密钥文件：{path}", f"No opener key file at {path}", code="file_not_found") from None
    signing_path = opener_signing_path(path)
    if not signing_path.exists():
        raise Failure(
            f"找不到分片签名密钥：{signing_path}（应与 {path.name} 放在一起）",
            f"No share-signing key at {signing_path} (it belongs beside {path.name})",
            code="file_not_found",
        )
    passphrase = read_passphrase(args)
    try:
        hpke_key = unprotect_private_key(blob, passphrase)
    except EnvelopeError as exc:
        raise Failure(exc.message_zh, exc.message_en, code=exc.code) from None
    return hpke_key, load_signing_key(signing_path, args, passphrase=passphrase)


# ------------------------------------------------------------------------------------------------
# Accounts


def cmd_login(args: argparse.Namespace) -> int:
    from bidding.client import BiddingClient

    server = server_of(args)
    password = args.password if args.password is not None else ask_secret("密码 / password: ", NO_TERMINAL_PASSWORD)
    label = args.label or f"bidding CLI on {socket.gethostname()}"[:100]
    with BiddingClient(server) as client:
        created = client.create_token(args.username, password, label)
    with BiddingClient(server, created["token"]) as client:
        me = client.me()
    config = load_config(args)
    same_account = config.get("server") == server and config.get("username") == me["username"]
    config.update(
        {
            "server": server,
            "token": created["token"],
            "token_id": created["id"],
            "username": me["username"],
            "display_name": me["display_name"],
            "roles": me["roles"],
        }
    )
    if not same_account:
        config.pop("credit_code", None)  # it belonged to the previous account's organisation
    path = save_config(args, config)
    roles = "、".join(me["roles"])
    say(f"已登录：{me['display_name']}（{me['username']}，角色：{roles}）", f"signed in to {server}")
    say(f"令牌已保存到 {path}（仅本人可读）", f"token saved to {path} (mode 0600)")
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    config = load_config(args)
    if not config.get("token"):
        say("当前没有保存的令牌", "no token is saved")
        return 0
    if config.get("token_id"):
        from bidding.client import ApiError, BiddingClient

        with BiddingClient(str(config["server"]), str(config["token"])) as client:
            try:
                client.revoke_token(int(config["token_id"]))
            except ApiError as exc:
                warn(f"服务器未能吊销令牌：{exc.message_zh}", f"the server did not revoke the token: {exc.message_en}")
    for name in ("token", "token_id"):
        config.pop(name, None)
    save_config(args, config)
    say("已退出登录，令牌已吊销并从本机删除", "signed out; the token is revoked and removed")
    return 0


# ------------------------------------------------------------------------------------------------
# Bidder keys


def cmd_keygen(args: argparse.Namespace) -> int:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    out = Path(args.out)
    passphrase = read_passphrase(args, new=True, allow_empty=True)
    key = Ed25519PrivateKey.generate()
    write_private(out, encrypted_pem(key, passphrase))
    if not passphrase:
        warn("密钥文件未加密，请妥善保管", "the key file is not encrypted: keep it safe")
    say(f"已生成投标签名密钥：{out}（仅本人可读）", f"signing key written to {out} (mode 0600)")
    say("公钥 / public key (base64):")
    print(b64(raw_public(key)))
    return 0


def cmd_register(args: argparse.Namespace) -> int:
    from bidding.client import ApiError
    from trading.accounts.credit_code import validate_credit_code
    from trading.errors import DomainError

    credit_code = None
    if args.credit_code:
        try:
            credit_code = validate_credit_code(args.credit_code)
        except DomainError as exc:
            raise Failure(exc.message_zh, exc.message_en, code=exc.code) from None
    key = load_signing_key(Path(args.key), args)
    certificate = Path(args.certificate).read_text(encoding="utf-8") if args.certificate else None
    public = b64(raw_public(key))
    with make_client(args) as client:
        try:
            row = client.register_bidder_key(public, args.label, certificate)
        except ApiError as exc:
            if exc.code != "duplicate_key":
                raise
            say("该公钥已登记在贵单位名下", "this key is already registered")
        else:
            say(
                f"签名公钥已登记（编号 {row['id']}，单位编号 {row['organisation_id']}）",
                f"signing key registered (id {row['id']})",
            )
        if credit_code is None:
            # The server knows my organisation's code: keep it for sealing.
            credit_code = client.me().get("organisation_credit_code")
    print(public)
    if credit_code:
        config = load_config(args)
        config["credit_code"] = credit_code
        save_config(args, config)
        say(f"统一社会信用代码 {credit_code} 已保存，密封时自动使用", "credit code saved for sealing")
    return 0


# ------------------------------------------------------------------------------------------------
# Sections: fetch and check against the published notice


def verify_section(client: BiddingClient, info: dict[str, Any], section_id: int) -> dict[str, Any]:
    """Check the section's bidding parameters against the published notice version they come from.

    The committee bidders seal to must be the one in the notice as published (its bytes hash to the
    version's content hash), and that version should be in the transparency log. Returns what was checked.
    """
    from trading.canonical import canonical_bytes

    def refuse(zh: str, en: str) -> Failure:
        return Failure(
            f"标段参数与已发布的公告不符，拒绝使用：{zh}",
            f"The section's parameters do not match the published notice; refusing them: {en}",
            code="section_mismatch",
        )

    if info.get("section_id") != section_id:
        raise refuse("标段编号不一致", "the section id differs")
    if not info.get("suite") or not info.get("members"):
        raise Failure(
            "此标段未设开标小组，不接受电子投标",
            "This section has no opening committee and takes no electronic bids",
            code="no_committee",
        )
    data = client.notice_version_document(int(info["notice_id"]), int(info["notice_version"]))
    if hashlib.sha256(data).hexdigest() != info.get("notice_content_sha256"):
        raise refuse(
            "公告文本的 SHA-256 与平台给出的内容哈希不一致", "the notice bytes do not hash to its content hash"
        )
    try:
        document = json.loads(data)
    except ValueError:
        raise refuse("公告文本不是 JSON", "the notice document is not JSON") from None
    if canonical_bytes(document) != data:
        raise refuse("公告文本不是规范编码", "the notice document is not canonical JSON")
    if document.get("notice_id") != info["notice_id"] or document.get("version") != info["notice_version"]:
        raise refuse("公告编号或版本不一致", "the notice id or version differs")
    if section_id not in (document.get("section_ids") or []):
        raise refuse("公告不包含此标段", "the notice does not cover this section")
    if (document.get("project") or {}).get("trade_code") != info.get("trade_code"):
        raise refuse("交易编码不一致", "the trade code differs")
    committee = (document.get("fields") or {}).get("committee")
    if not isinstance(committee, dict):
        raise refuse("公告中没有开标小组", "the notice names no opening committee")

    def members(source: Any) -> list[tuple[Any, Any, Any]]:
        return [(m.get("position"), m.get("public_key"), m.get("signing_key")) for m in source or []]

    if (committee.get("suite"), committee.get("k"), committee.get("n")) != (info["suite"], info["k"], info["n"]):
        raise refuse("算法套件或门限与公告不同", "the suite, k or n differs from the notice")
    if members(committee.get("members")) != members(info["members"]):
        raise refuse("开标人公钥与公告不同", "the openers' keys differ from the notice")
    required = (committee.get("price_form") or {}).get("required") or []
    from bidding.envelope.priceform import STANDARD_PRICE_FIELDS

    if [f for f in required if f not in STANDARD_PRICE_FIELDS] != list(info.get("price_fields") or []):
        raise refuse("开标一览表的必填项与公告不同", "the opening form's required fields differ from the notice")
    if [m[0] for m in members(info["members"])] != list(range(1, int(info["n"]) + 1)):
        raise refuse("开标人席位编号不连续", "the openers' positions are not 1…n")
    from bidding.envelope import EnvelopeError, decode_public_key

    try:
        for member in info["members"]:
            decode_public_key(info["suite"], base64.b64decode(member["public_key"], validate=True))
    except (EnvelopeError, ValueError):
        raise refuse("开标人公钥无效", "an opener's public key is not valid") from None
    entry = canonical_bytes(
        {
            "kind": "notice_version",
            "trade_code": document["project"]["trade_code"],
            "notice_id": document["notice_id"],
            "notice_kind": document.get("kind"),
            "version": document["version"],
            "content_sha256": info["notice_content_sha256"],
            "published_at": document.get("published_at"),
        }
    )
    return {
        "notice_id": info["notice_id"],
        "notice_version": info["notice_version"],
        "content_sha256": info["notice_content_sha256"],
        "log": check_logged(client, entry),
    }


def check_logged(client: BiddingClient, entry: bytes) -> dict[str, Any]:
    """Whether ``entry`` is in the signed log: an inclusion proof against the latest checkpoint."""
    from bidding.client import ApiError
    from trading.log import merkle
    from trading.log.note import NoteError, NoteVerifier, open_checkpoint

    leaf = merkle.leaf_hash(entry)
    vkey = client.log_key()
    try:
        checkpoint = open_checkpoint(client.log_checkpoint(), [NoteVerifier.from_vkey(vkey)])
        proof = client.inclusion_proof(checkpoint.size, leaf_hash_hex=leaf.hex())
    except ApiError as exc:
        if exc.status_code == 404:
            warn("公告版本尚未记入透明日志，稍后可再次获取核对", "the notice version is not in the log yet")
            return {"logged": False, "log_key": vkey}
        raise
    except NoteError as exc:
        raise Failure(
            f"透明日志检查点的签名无效：{exc}", f"The log checkpoint's signature is not valid: {exc}"
        ) from None
    path = [base64.b64decode(p) for p in proof["proof"]]
    if not merkle.verify_inclusion(leaf, int(proof["index"]), checkpoint.size, path, checkpoint.root_hash):
        raise Failure(
            "公告版本在透明日志中的包含证明无效",
            "The notice version's inclusion proof does not verify",
            code="bad_inclusion_proof",
        )
    return {"logged": True, "log_key": vkey, "leaf_index": proof["index"], "tree_size": checkpoint.size}


def cmd_fetch(args: argparse.Namespace) -> int:
    out = Path(args.out or f"section-{args.section_id}.json")
    with make_client(args, signed_in=False) as client:
        info = client.section_bidding(args.section_id)
        checked = verify_section(client, info, args.section_id)
        server = client.server
    write_json(
        out,
        {
            "format": SECTION_FORMAT,
            "server": server,
            # When this machine fetched it (the bidder's own record; nothing on the platform reads it).
            "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "verified": checked,
            "section": info,
        },
    )
    say(f"标段：{info['section_name']}（{info['section_code']}），交易编码 {info['trade_code']}", "section")
    say(f"投标截止：{local_time(info['deadline_at'])}", "bid deadline")
    members = "、".join(f"{m['position']}. {m['name']}" for m in info["members"])
    say(f"开标小组：{info['k']}/{info['n']}（{info['suite']}）：{members}", f"committee {info['k']} of {info['n']}")
    log_note = "，已记入透明日志" if checked["log"].get("logged") else ""
    say(
        f"已核对：与第 {info['notice_id']} 号公告第 {info['notice_version']} 版一致{log_note}",
        "checked against the published notice",
    )
    if not info.get("accepts_bids"):
        warn(f"此标段当前不接受投标（状态：{info['state']}）", f"this section is not taking bids ({info['state']})")
    say(f"已保存到 {out}", f"saved to {out}")
    return 0


def load_section(path: Path) -> dict[str, Any]:
    value = read_json(path, "标段参数文件", "section file")
    section = value.get("section", value) if isinstance(value, dict) else None
    if not isinstance(section, dict) or not section.get("members"):
        raise Failure(
            f"{path} 不是 bidding fetch 保存的标段参数文件", f"{path} is not a section file from `bidding fetch`"
        )
    return section


def context_from_section(section: dict[str, Any], credit_code: str) -> Any:
    from bidding.envelope import BidContext

    return BidContext(
        section_id=int(section["section_id"]),
        trade_code=section["trade_code"],
        section_code=section["section_code"],
        bidder_credit_code=credit_code,
        suite=section["suite"],
        k=int(section["k"]),
        n=int(section["n"]),
        opener_keys=tuple(base64.b64decode(m["public_key"]) for m in section["members"]),
    )


# ------------------------------------------------------------------------------------------------
# Sealing (offline)


def load_price_form(path: Path) -> dict[str, Any]:
    """The opening form (开标一览表) from TOML or JSON: total_price_fen, duration_days, quality, extras."""
    import tomllib

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise Failure(f"找不到报价文件：{path}", f"No price file at {path}", code="file_not_found") from None
    try:
        form = tomllib.loads(raw.decode("utf-8")) if path.suffix.lower() == ".toml" else json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Failure(f"报价文件格式错误：{exc}", f"The price file cannot be read: {exc}", code="bad_price") from None
    if not isinstance(form, dict):
        raise Failure("报价文件应为一个对象（键值对）", "The price file must hold one object", code="bad_price")
    return form


def collect_documents(paths: list[str]) -> Path | list[tuple[str, Path]]:
    """One folder is packed as it is; otherwise files go in under their names, folders under theirs."""
    from bidding.envelope.documents import collect_documents as walk

    items = [Path(p) for p in paths]
    for item in items:
        if not item.exists():
            raise Failure(f"找不到投标文件：{item}", f"No such file or folder: {item}", code="file_not_found")
    if len(items) == 1 and items[0].is_dir():
        return items[0]
    entries: list[tuple[str, Path]] = []
    for item in items:
        if item.is_dir():
            entries += [(f"{item.resolve().name}/{name}", path) for name, path, _ in walk(item)]
        else:
            entries.append((item.name, item))
    return entries


def warn_if_deadline_passed(section: dict[str, Any]) -> None:
    """Sealing is offline, so only this machine's clock can be asked; it warns and refuses nothing (the
    platform's clock decides at submission)."""
    deadline = section.get("deadline_at")
    if deadline and datetime.fromisoformat(deadline) <= datetime.now(UTC):
        warn("按本机时钟，投标截止时间已过", "by this machine's clock the bid deadline has passed")


def cmd_seal(args: argparse.Namespace) -> int:
    from bidding.envelope import encode_price_form, seal_bid
    from bidding.envelope.documents import collect_documents as walk
    from trading.accounts.credit_code import validate_credit_code
    from trading.errors import DomainError

    section = load_section(Path(args.section))
    credit_code = args.credit_code or load_config(args).get("credit_code")
    if not credit_code:
        raise Failure(
            "请用 --credit-code 给出贵单位的统一社会信用代码（或在 bidding register 时用 --credit-code 保存）",
            "Give your organisation's unified social credit code with --credit-code "
            "(or save it with `bidding register --credit-code`)",
            code="no_credit_code",
        )
    try:
        credit_code = validate_credit_code(credit_code)
    except DomainError as exc:
        raise Failure(exc.message_zh, exc.message_en, code=exc.code) from None
    out = Path(args.out)
    if out.exists() and not args.force:
        raise Failure(
            f"{out} 已存在；重新密封会得到一份新的投标，如确需覆盖请加 --force",
            f"{out} exists; sealing again makes a new bid — add --force to replace it",
            code="file_exists",
        )
    form = load_price_form(Path(args.price))
    # The tender's required fields, from the published notice: refuse a form without them before asking for
    # the passphrase (the opening would refuse it, and the fault would be the bidder's).
    required = tuple(section.get("price_fields") or ())
    encode_price_form(form, price_fields=required)
    key = load_signing_key(Path(args.key), args)
    documents = collect_documents(args.documents)
    files = walk(documents)
    total = sum(size for _, _, size in files)
    warn_if_deadline_passed(section)
    context = context_from_section(section, credit_code)
    say(f"正在密封 {len(files)} 个文件（共 {total:,} 字节）……", f"sealing {len(files)} files")
    with progress_bar("密封 / sealing", total) as update:
        info = seal_bid(context, key, form, documents, out, progress=update, price_fields=required)
    say(f"已密封：{out}（{info.size:,} 字节）", f"sealed bid written to {out}")
    if isinstance(form.get("total_price_fen"), int):
        say(f"投标报价：{yuan(form['total_price_fen'])}（{form['total_price_fen']} 分）", "price")
    say(f"清单哈希 / manifest SHA-256: {info.manifest_hash}")
    say(
        "报价在开标前无人能读；请保留此文件直至开标，并用 bidding submit 递交",
        "nobody can read the price before the opening; keep this file and submit it with `bidding submit`",
    )
    return 0


# ------------------------------------------------------------------------------------------------
# Submission (resumable)


def upload_state_path(bid: Path) -> Path:
    return bid.with_name(bid.name + ".upload.json")


def receipt_path(bid: Path) -> Path:
    return bid.with_name(bid.name + ".receipt.json")


#: The ciphertext is read from the sealed file and sent in pieces of this size (the client's memory for it).
UPLOAD_READ_BLOCK = 1 << 20


def _file_slice(bid_path: Path, start: int, length: int) -> Callable[[], Iterator[bytes]]:
    """A function giving ``length`` bytes of the file from ``start`` on, read a block at a time."""

    def read() -> Iterator[bytes]:
        with open(bid_path, "rb") as fh:
            fh.seek(start)
            left = length
            while left:
                block = fh.read(min(UPLOAD_READ_BLOCK, left))
                if not block:
                    raise Failure("投标文件在上传时被截短", "The bid file ended early", code="bid_file_truncated")
                left -= len(block)
                yield block

    return read


def _upload_envelope(
    client: BiddingClient,
    bid_path: Path,
    upload_id: str,
    envelope: str,
    member: tuple[int, int],
    received: int,
    chunk: int,
) -> None:
    """Send one ciphertext from ``received`` on, in slices of ``chunk`` bytes streamed from the file; after a lost
    connection ask the server how much it holds and go on from there."""
    from bidding.client import ApiError

    offset, size = member
    failures = 0
    with progress_bar(f"上传 / uploading {envelope}", size) as update:
        update(received)
        while received < size:
            length = min(chunk, size - received)
            try:
                received = client.put_ciphertext(
                    upload_id, envelope, received, _file_slice(bid_path, offset + received, length), length
                )
                failures = 0
            except ApiError as exc:
                failures += 1
                if failures > UPLOAD_RETRIES:
                    raise
                if exc.code == "upload_conflict" and "received" in exc.details:
                    received = int(exc.details["received"])  # the server holds another amount: follow it
                elif exc.is_network:
                    warn(
                        f"连接中断，{2**failures} 秒后从服务器已收到的位置续传",
                        f"connection lost; resuming in {2**failures} s",
                    )
                    time.sleep(2**failures)
                    with contextlib.suppress(ApiError):  # if this fails too, the next PUT says where to go on
                        received = int(client.upload_status(upload_id)["envelopes"][envelope]["received"])
                else:
                    raise
            update(received)


def cmd_submit(args: argparse.Namespace) -> int:
    from bidding.envelope import read_sealed_bid

    bid_path = Path(args.bid)
    if not bid_path.exists():
        raise Failure(f"找不到投标文件：{bid_path}", f"No sealed bid at {bid_path}", code="file_not_found")
    sealed = read_sealed_bid(bid_path)
    manifest = sealed.manifest
    digest = hashlib.sha256(sealed.manifest_bytes).hexdigest()
    if manifest.section_id != args.section_id:
        raise Failure(
            f"此投标文件是为第 {manifest.section_id} 号标段密封的，不是第 {args.section_id} 号",
            f"This bid was sealed for section {manifest.section_id}, not {args.section_id}",
            code="wrong_section",
        )
    chunk = max(1, int(args.chunk_mib * 1024 * 1024))
    state_path = upload_state_path(bid_path)
    with make_client(args) as client:
        previous = read_json(state_path, "上传记录", "upload record") if state_path.exists() else {}
        bid = _submit_whole(client, args.section_id, bid_path) if not (previous or args.in_pieces) else None
        if bid is not None:
            return _receipted(bid, bid_path, state_path, digest, args.section_id)
        if previous.get("manifest_sha256") == digest and previous.get("server") == client.server:
            say(f"继续上一次的上传（{previous['upload_id'][:8]}…）", "resuming the previous upload")
        # Sending the same signed manifest again returns the same upload, with how much the server holds.
        upload = client.begin_submission(
            args.section_id,
            b64(sealed.manifest_bytes),
            b64(sealed.signature),
            {e: [b64(s) for s in shares] for e, shares in sealed.sealed_shares.items()},
        )
        upload_id = upload["upload_id"]
        write_json(
            state_path,
            {
                "format": UPLOAD_FORMAT,
                "server": client.server,
                "section_id": args.section_id,
                "upload_id": upload_id,
                "manifest_sha256": digest,
            },
        )
        if upload["state"] == "open":
            for envelope in ("price", "documents"):
                received = int(upload["envelopes"][envelope]["received"])
                size = sealed.ciphertext_size(envelope)
                if 0 < received < size:
                    say(
                        f"续传：{envelope} 信封从第 {received:,} 字节继续（共 {size:,} 字节）",
                        f"resuming {envelope} from byte {received}",
                    )
                member = sealed.members[f"{envelope}.bin"]
                _upload_envelope(client, bid_path, upload_id, envelope, member, received, chunk)
        bid = client.complete_upload(upload_id)
    return _receipted(bid, bid_path, state_path, digest, args.section_id)


def _submit_whole(client: BiddingClient, section_id: int, bid_path: Path) -> dict[str, Any] | None:
    """A small sealed bid goes in one request (the bid and its receipt in one round trip); None for a bid too big
    for that, or a server that does not take whole files, which then get the resumable upload."""
    from bidding.client import ONE_REQUEST_LIMIT, ApiError

    if bid_path.stat().st_size > ONE_REQUEST_LIMIT:
        return None
    try:
        return client.submit_file(section_id, bid_path.read_bytes())
    except ApiError as exc:
        if exc.status_code in (404, 405, 413):
            return None
        raise


def _receipted(bid: dict[str, Any], bid_path: Path, state_path: Path, digest: str, section_id: int) -> int:
    receipt = bid.get("receipt")
    if not receipt:
        raise Failure("平台未给出回执", "The platform gave no receipt", code="no_receipt")
    out = receipt_path(bid_path)
    write_json(out, receipt)
    with contextlib.suppress(FileNotFoundError):
        state_path.unlink()
    ended = bid.get("state", "active") != "active"
    if not ended:
        say("投标文件已递交 / bid submitted")
    say(f"接收时间：{local_time(bid['received_at'])}", "received at")
    say(f"清单哈希 / manifest SHA-256: {bid['manifest_sha256']}")
    report = check_receipt(
        base64.b64decode(receipt["receipt"]),
        base64.b64decode(receipt["signature"]),
        expect={"manifest_sha256": digest, "section_id": section_id},
    )
    if not report.ok:
        print_report(report)
        raise Failure("平台回执未通过核验", "The platform's receipt does not verify", code="bad_receipt")
    say(f"回执已保存并核验：{out}", f"receipt saved and verified: {out}")
    if ended:  # the same file sent again gives the same bid, which the bidder has since withdrawn or replaced
        raise _no_longer_active(bid)
    merge_by = receipt.get("document", {}).get("merge_by")
    if merge_by:
        say(
            f"平台承诺在 {local_time(merge_by)} 前将本投标记入透明日志；此后运行 bidding verify-receipt {out} 核对",
            "the platform promises the bid is in its transparency log by then: check it with verify-receipt",
        )
    return 0


def _no_longer_active(bid: dict[str, Any]) -> Failure:
    """This file's bid was received earlier and has ended since: sending the file again does not revive it."""
    when = local_time(bid["ended_at"]) if bid.get("ended_at") else "此前"
    if bid["state"] == "withdrawn":
        zh, en = f"已于 {when} 撤回，不会开标", "was withdrawn since and will not be opened"
    else:
        zh, en = f"已于 {when} 被贵单位之后递交的投标替换", "was replaced since by a later bid of yours"
    return Failure(
        f"此投标文件此前已递交，但该投标{zh}；如需再次投标，请重新密封（bidding seal）一份投标文件后递交",
        f"This bid file was submitted before, but that bid {en}: to bid again, seal a new bid file and submit it",
        code="bid_not_active",
    )


def cmd_status(args: argparse.Namespace) -> int:
    with make_client(args) as client:
        bid = client.my_bid(args.section_id)
    say(f"投标状态 / bid state: {STATES.get(bid['state'], bid['state'])}")
    say(f"接收时间：{local_time(bid['received_at'])}", "received at")
    if bid.get("ended_at"):
        say(f"结束时间：{local_time(bid['ended_at'])}", "ended at")
    say(f"清单哈希 / manifest SHA-256: {bid['manifest_sha256']}")
    receipt = bid.get("receipt")
    if receipt and args.save_receipt:
        write_json(Path(args.save_receipt), receipt)
        say(f"回执已保存到 {args.save_receipt}", "receipt saved")
    elif not receipt:
        warn("平台尚未给出回执", "no receipt yet")
    return 0


def cmd_withdraw(args: argparse.Namespace) -> int:
    from bidding.withdrawal import withdrawal_document

    key = load_signing_key(Path(args.key), args)
    with make_client(args) as client:
        if args.bid:
            from bidding.envelope import read_sealed_bid

            sealed = read_sealed_bid(Path(args.bid))
            digest = hashlib.sha256(sealed.manifest_bytes).hexdigest()
        else:
            current = client.my_bid(args.section_id)
            if current["state"] != "active":
                raise Failure(
                    f"贵单位在此标段没有有效投标（状态：{STATES.get(current['state'], current['state'])}）",
                    "Your organisation has no active bid in this section",
                    code="no_active_bid",
                )
            digest = current["manifest_sha256"]
        if not args.yes and sys.stdin.isatty():
            answer = input(f"确认撤回清单哈希为 {digest[:16]}… 的投标？[y/N] / withdraw this bid? ")
            if answer.strip().lower() not in ("y", "yes", "是"):
                say("已取消", "cancelled")
                return 1
        document = withdrawal_document(args.section_id, digest)
        bid = client.withdraw(args.section_id, b64(document), b64(key.sign(document)))
    say(f"投标已撤回 / bid withdrawn: {STATES.get(bid['state'], bid['state'])}")
    say(f"撤回时间：{local_time(bid['ended_at'])}", "withdrawn at")
    say(f"清单哈希 / manifest SHA-256: {bid['manifest_sha256']}")
    say("截止前仍可重新密封并递交新的投标", "you may still seal and submit a new bid before the deadline")
    return 0


# ------------------------------------------------------------------------------------------------
# Receipts


@dataclass
class Check:
    status: str  # "OK", "FAILED", "SKIPPED"
    zh: str
    en: str
    detail: str = ""


@dataclass
class Report:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.status != "FAILED" for c in self.checks)


def print_report(report: Report) -> None:
    for check in report.checks:
        line = f"  {check.status:<8}{check.zh} / {check.en}"
        print(line + (f"（{check.detail}）" if check.detail else ""))


def check_receipt(
    data: bytes,
    signature: bytes,
    *,
    client: BiddingClient | None = None,
    pinned_vkey: str | None = None,
    expect: dict[str, Any] | None = None,
) -> Report:
    """Check a receipt: the platform's signature, the log entry it names, its checkpoint and — with a
    client — the entry's inclusion in the latest checkpoint and that checkpoint's consistency with the
    receipt's."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from bidding.client import ApiError
    from bidding.events import commitment, section_tag
    from trading.canonical import canonical_bytes
    from trading.log import merkle
    from trading.log.note import NoteError, NoteVerifier, open_checkpoint

    checks: list[Check] = []

    def add(ok: bool | None, zh: str, en: str, detail: str = "") -> bool:
        checks.append(Check("SKIPPED" if ok is None else "OK" if ok else "FAILED", zh, en, detail))
        return bool(ok)

    try:
        doc = json.loads(data)
        well_formed = canonical_bytes(doc) == data and doc.get("format") in RECEIPT_FORMATS
    except ValueError:
        doc, well_formed = {}, False
    if not add(
        well_formed,
        f"回执格式正确（规范 JSON，{' 或 '.join(RECEIPT_FORMATS)}）",
        f"receipt is canonical {' or '.join(RECEIPT_FORMATS)}",
    ):
        return Report(checks)
    merge_by = _promised_by(doc, add)
    if doc.get("format") == "trading-receipt/v1" and not add(
        _v1_form(doc),
        "v1 回执的 leaf_index、checkpoint、inclusion_proof 格式正确",
        "v1 receipt's leaf_index, checkpoint and inclusion_proof have the documented form",
        "docs/log.md §11",
    ):
        return Report(checks)
    for name, value in (expect or {}).items():
        add(doc.get(name) == value, f"回执的 {name} 与本地投标一致", f"receipt {name} matches the local bid")

    vkey = pinned_vkey or doc.get("log_key", "")
    try:
        verifier = NoteVerifier.from_vkey(vkey)
    except NoteError as exc:
        add(False, "平台公钥可读", "platform key parses", str(exc))
        return Report(checks)
    if pinned_vkey and pinned_vkey != doc.get("log_key"):
        add(False, "回执所载平台公钥与指定的公钥一致", "receipt's key is the pinned key")
    try:
        Ed25519PublicKey.from_public_bytes(verifier.public_key).verify(signature, data)
        signed = True
    except InvalidSignature:
        signed = False
    add(signed, "平台对回执的签名有效", "platform signature on the receipt is valid", vkey.split("+")[0])

    event = doc.get("event") or {}
    # The public entry is {kind, commitment, section_tag}: the commitment is recomputed here from the event
    # and its salt; the section tag is keyed with a key published only with the opening record.
    try:
        entry = base64.b64decode(doc.get("log_entry", ""), validate=True)
        entry_doc = json.loads(entry)
        committed = commitment(event, base64.b64decode(doc.get("salt", ""), validate=True))
        entry_ok = (
            canonical_bytes(entry_doc) == entry
            and set(entry_doc) <= {"kind", "commitment", "section_tag"}
            and entry_doc.get("kind") == "bid_event"
            and entry_doc.get("commitment") == committed
        )
    except (ValueError, TypeError, AttributeError):
        entry, entry_doc, entry_ok = b"", {}, False
    add(entry_ok, "日志条目中的承诺值可由事件内容与盐值重算", "log entry's commitment recomputed from event and salt")
    leaf = merkle.leaf_hash(entry)
    add(leaf.hex() == doc.get("leaf_hash"), "叶子哈希正确", "leaf hash matches the entry")
    try:
        same_time = datetime.fromisoformat(event.get("at", "")) == datetime.fromisoformat(doc.get("received_at", ""))
    except (TypeError, ValueError):
        same_time = False
    add(
        event.get("event") == "submission"
        and same_time
        and all(event.get(k) == doc.get(k) for k in ("section_id", "bidder_credit_code", "manifest_sha256")),
        "日志事件与回执内容一致（标段、投标人、清单哈希、时间）",
        "logged event matches the receipt",
    )

    checkpoint: Checkpoint | None = None
    index = doc.get("leaf_index")
    if doc.get("checkpoint"):
        try:
            checkpoint = open_checkpoint(doc["checkpoint"], [verifier])
            add(
                checkpoint.origin == verifier.name,
                "回执所附检查点签名有效",
                "receipt checkpoint signature valid",
                f"size {checkpoint.size}",
            )
        except NoteError as exc:
            add(False, "回执所附检查点签名有效", "receipt checkpoint signature valid", str(exc))
        if checkpoint is not None:
            add(
                isinstance(index, int) and 0 <= index < checkpoint.size,
                "叶子位置在该检查点之内",
                "leaf index lies within that checkpoint",
                f"index {index}",
            )
            add(
                _embedded_proof_holds(doc.get("inclusion_proof"), leaf, index, checkpoint),
                "回执所附包含证明有效（离线核对）",
                "the receipt's own inclusion proof verifies against its checkpoint",
                f"entry {index} in the tree of size {checkpoint.size}",
            )
    elif merge_by is None:
        add(None, "回执未附检查点（签发时尚未记入日志）", "the receipt carries no checkpoint")

    if client is None:
        add(None, "未联网核对最新检查点（--offline）", "latest checkpoint not checked (offline)")
        return Report(checks)
    try:
        server_vkey = client.log_key()
        add(server_vkey == vkey, "平台当前公布的日志公钥与回执一致", "platform's published log key is the receipt's")
        try:
            latest = open_checkpoint(client.log_checkpoint(), [verifier])
        except NoteError as exc:
            add(False, "最新检查点签名有效", "latest checkpoint signature valid", str(exc))
            return Report(checks)
        add(True, "最新检查点签名有效", "latest checkpoint signature valid", f"size {latest.size}")
        if not isinstance(index, int):
            found = _leaf_in(client, latest.size, leaf.hex())
            if found is None:
                _promise_pending(merge_by, latest.size, add)
                return Report(checks)
            index = found
            if merge_by is not None:
                add(True, "平台已兑现记入日志的承诺", "the platform kept its promise of inclusion", str(index))
        trees = [latest] + ([checkpoint] if checkpoint is not None and checkpoint.size != latest.size else [])
        for tree in trees:
            proof = client.inclusion_proof(tree.size, index=index)
            path = [base64.b64decode(p) for p in proof["proof"]]
            add(
                base64.b64decode(proof["leaf_hash"]) == leaf
                and merkle.verify_inclusion(leaf, index, tree.size, path, tree.root_hash),
                f"包含证明有效：条目 {index} 在大小为 {tree.size} 的树中",
                f"inclusion proof of entry {index} in the tree of size {tree.size}",
            )
        if checkpoint is not None:
            if latest.size < checkpoint.size:
                add(False, "日志只增不减", "the log only grew", f"{checkpoint.size} → {latest.size}")
            else:
                proof = client.consistency_proof(checkpoint.size, latest.size)
                path = [base64.b64decode(p) for p in proof["proof"]]
                add(
                    merkle.verify_consistency(
                        checkpoint.size, latest.size, checkpoint.root_hash, latest.root_hash, path
                    ),
                    f"一致性证明有效：日志从 {checkpoint.size} 增长到 {latest.size} 未被改写",
                    f"consistency proof {checkpoint.size} → {latest.size}",
                )
        check_opening_record(client, doc, entry_doc, index, add, section_tag, verifier=verifier, latest=latest)
    except ApiError as exc:
        add(False, "联网核对", "online checks", f"{exc.message_zh} / {exc.message_en}")
    return Report(checks)


#: Receipt formats this client checks: v2 promises inclusion by ``merge_by``; v1 carried its inclusion proof.
RECEIPT_FORMATS = ("trading-receipt/v1", "trading-receipt/v2")


def _promised_by(doc: dict[str, Any], add: Callable[..., bool]) -> datetime | None:
    """A v2 receipt's promise: the time by which its entry is in the log (received_at + the stated delay)."""
    if doc.get("format") != "trading-receipt/v2":
        return None
    try:
        merge_by = datetime.fromisoformat(doc["merge_by"])
        delay = timedelta(seconds=int(doc["max_merge_delay_seconds"]))
        consistent = merge_by == datetime.fromisoformat(doc["received_at"]) + delay and merge_by.tzinfo is not None
    except (KeyError, TypeError, ValueError):
        merge_by, consistent = None, False
    add(
        consistent,
        "回执载明记入日志的承诺时限（接收时间加最大合并延迟）",
        "receipt states when its entry will be in the log (received at + maximum merge delay)",
        merge_by.isoformat() if merge_by else "",
    )
    return merge_by if consistent else None


def _leaf_in(client: BiddingClient, tree_size: int, leaf_hash_hex: str) -> int | None:
    """The index of a leaf in the tree of *tree_size*, or None while it is not there."""
    from bidding.client import ApiError

    try:
        index = int(client.inclusion_proof(tree_size, leaf_hash_hex=leaf_hash_hex)["index"])
    except ApiError as exc:
        if exc.status_code in (400, 404, 422):
            return None
        raise
    return index if index < tree_size else None


def _v1_form(doc: dict[str, Any]) -> bool:
    """docs/log.md §11, the first format: leaf_index an integer and checkpoint a text, or both null; the audit
    path a list of lowercase hex hashes."""
    index, checkpoint, path = (doc.get(name, ...) for name in ("leaf_index", "checkpoint", "inclusion_proof"))
    located = (index is None and checkpoint is None) or (
        type(index) is int and index >= 0 and isinstance(checkpoint, str)
    )
    return located and isinstance(path, list) and all(isinstance(n, str) and _HEX_HASH.fullmatch(n) for n in path)


_HEX_HASH = re.compile("[0-9a-f]{64}")


def _embedded_proof_holds(path_hex: list[str], leaf: bytes, index: int, checkpoint: Checkpoint) -> bool:
    """A v1 receipt's audit path (its form checked: _v1_form) from *leaf* at *index* to the root of the
    receipt's own checkpoint."""
    from trading.log import merkle

    if not 0 <= index < checkpoint.size:
        return False
    path = [bytes.fromhex(node) for node in path_hex]
    return merkle.verify_inclusion(leaf, index, checkpoint.size, path, checkpoint.root_hash)


def _promise_pending(merge_by: datetime | None, size: int, add: Callable[..., bool]) -> None:
    """The entry is not in the latest checkpoint: pending while the promise runs, a broken promise after."""
    if merge_by is None:
        add(False, "日志中找到本投标的条目", "the bid's entry is in the log", f"not in the tree of size {size}")
    elif datetime.now(UTC) <= merge_by:
        add(
            None,
            f"尚未记入日志：平台承诺在 {merge_by.isoformat()} 前记入，届时请再核对",
            "not in the log yet: promised by merge_by, check again after it",
            f"tree size {size}",
        )
    else:
        add(
            False,
            f"平台未兑现承诺：承诺 {merge_by.isoformat()} 前记入日志，至今未见",
            "the platform broke its promise: the entry is not in the log after merge_by",
            f"tree size {size}",
        )


def check_opening_record(
    client: BiddingClient,
    doc: dict[str, Any],
    entry_doc: dict[str, Any],
    index: int,
    add: Callable[..., bool],
    section_tag: Callable[[bytes, str], str],
    *,
    verifier: Any = None,
    latest: Any = None,
) -> None:
    """Once the section is opened: the bid is in the opening record, its log entry carries the section's tag
    (the tag key is published with the record) and was logged before the deadline checkpoint — proved, with the
    log's *verifier* and *latest* checkpoint, by its inclusion in the deadline's signed tree and that tree's
    consistency with the latest."""
    from trading.log import merkle
    from trading.log.note import NoteError, open_checkpoint

    status = client.opening_status(int(doc["section_id"]))
    if not status.get("record_notice_id"):
        add(None, "尚未开标：标段标签与开标记录待开标后核对", "not opened yet: section tag checked after the opening")
        return
    fields = client.notice(int(status["record_notice_id"])).get("fields") or {}
    listed = [b for b in fields.get("bids") or [] if b.get("manifest_sha256") == doc["manifest_sha256"]]
    outcome = listed[0].get("outcome", "") if listed else ""
    add(bool(listed), "本投标列入开标记录", "the bid is listed in the opening record", outcome)
    try:
        key = base64.b64decode(fields.get("section_tag_key") or "", validate=True)
    except ValueError:
        key = b""
    add(
        bool(key) and section_tag(key, str(entry_doc.get("commitment", ""))) == entry_doc.get("section_tag"),
        "日志条目的标段标签与开标记录公布的密钥相符",
        "the entry's section tag matches the key published with the record",
    )
    cut = (fields.get("deadline_checkpoint") or {}).get("size")
    add(
        isinstance(cut, int) and index < cut,
        "在截止时刻的检查点之前已记入日志",
        "logged before the deadline checkpoint",
        f"entry {index} < {cut}",
    )
    note = (fields.get("deadline_checkpoint") or {}).get("note")
    if verifier is None or latest is None or not isinstance(cut, int) or not note or not index < cut:
        return
    # The deadline's signed checkpoint: the entry is in it, and the log has only grown since.
    try:
        at_deadline = open_checkpoint(note, [verifier])
    except NoteError as exc:
        add(False, "截止时刻检查点签名有效", "deadline checkpoint signature valid", str(exc))
        return
    leaf = merkle.leaf_hash(base64.b64decode(doc.get("log_entry", "")))
    proof = client.inclusion_proof(at_deadline.size, index=index)
    add(
        at_deadline.size == cut
        and merkle.verify_inclusion(
            leaf, index, cut, [base64.b64decode(p) for p in proof["proof"]], at_deadline.root_hash
        ),
        f"包含证明有效：条目 {index} 在截止时刻大小为 {cut} 的树中",
        f"inclusion proof of entry {index} in the deadline's tree of size {cut}",
    )
    if latest.size < cut:
        add(False, "日志只增不减", "the log only grew", f"{cut} → {latest.size}")
        return
    consistency = client.consistency_proof(cut, latest.size)
    add(
        merkle.verify_consistency(
            cut,
            latest.size,
            at_deadline.root_hash,
            latest.root_hash,
            [base64.b64decode(p) for p in consistency["proof"]],
        ),
        f"一致性证明有效：日志从截止时刻的 {cut} 增长到 {latest.size} 未被改写",
        f"consistency proof {cut} → {latest.size} (since the deadline)",
    )


def cmd_verify_receipt(args: argparse.Namespace) -> int:
    value = read_json(Path(args.receipt), "回执文件", "receipt file")
    if isinstance(value, dict) and isinstance(value.get("receipt"), dict):
        value = value["receipt"]  # the answer of `submit` or `status` as a whole
    try:
        data = base64.b64decode(value["receipt"], validate=True)
        signature = base64.b64decode(value["signature"], validate=True)
    except (KeyError, TypeError, ValueError):
        raise Failure(
            f"{args.receipt} 不是投标回执文件", f"{args.receipt} is not a receipt file", code="bad_receipt"
        ) from None
    say(f"核验回执 / verifying receipt: {args.receipt}")
    if args.offline:
        report = check_receipt(data, signature, pinned_vkey=args.log_key)
    else:
        with make_client(args, signed_in=False) as client:
            report = check_receipt(data, signature, client=client, pinned_vkey=args.log_key)
    print_report(report)
    if report.ok:
        doc = json.loads(data)
        say(f"结果：通过。接收时间 {local_time(doc['received_at'])}", "RESULT: OK")
        return 0
    say("结果：未通过", "RESULT: FAILED")
    return 1


# ------------------------------------------------------------------------------------------------
# Openers


def cmd_opener_keygen(args: argparse.Namespace) -> int:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from bidding.envelope import encode_public_key, generate_opener_key, protect_private_key

    out = Path(args.out)
    signing_path = opener_signing_path(out)
    for path in (out, signing_path):
        if path.exists():
            raise Failure(f"{path} 已存在，为免覆盖密钥，请换一个文件名", f"{path} exists; choose another name")
    passphrase = read_passphrase(args, new=True)
    key = generate_opener_key(args.suite)
    signing = Ed25519PrivateKey.generate()
    write_private(out, protect_private_key(args.suite, key, passphrase))
    write_private(signing_path, encrypted_pem(signing, passphrase))
    public = encode_public_key(args.suite, key.public_key())
    say(f"已生成开标密钥（{args.suite}）：{out}", f"opener key written to {out}")
    say(f"分片签名密钥：{signing_path}（与开标密钥同一口令，均仅本人可读）", f"share-signing key: {signing_path}")
    say(f"开标公钥 SHA-256 / opener public key SHA-256: {hashlib.sha256(public).hexdigest()}")
    say("开标公钥 / opener public key (base64):")
    print(b64(public))
    say("分片签名公钥 / share-signing public key (base64):")
    print(b64(raw_public(signing)))
    return 0


def cmd_opener_register(args: argparse.Namespace) -> int:
    from bidding.envelope import encode_public_key

    hpke_key, signing = load_opener_keys(Path(args.key), args)
    public = encode_public_key(hpke_key.suite, hpke_key.public_key())
    with make_client(args) as client:
        row = client.register_opener_key(hpke_key.suite, b64(public), b64(raw_public(signing)))
    say(f"开标公钥已登记（编号 {row['id']}，{row['suite']}）", f"opener key registered (id {row['id']})")
    say(f"开标公钥 SHA-256 / opener public key SHA-256: {hashlib.sha256(public).hexdigest()}")
    return 0


def cmd_opener_open(args: argparse.Namespace) -> int:
    from bidding.envelope import encode_public_key
    from bidding.opening import shares_document

    hpke_key, signing = load_opener_keys(Path(args.key), args)
    with make_client(args) as client:
        section = client.section_bidding(args.section_id)
        verify_section(client, section, args.section_id)
        pack = client.my_sealed_shares(args.section_id)
        position = int(pack["position"])
        member = section["members"][position - 1]
        mine = encode_public_key(section["suite"], hpke_key.public_key()) if hpke_key.suite == section["suite"] else b""
        if b64(mine) != member["public_key"] or b64(raw_public(signing)) != member["signing_key"]:
            raise Failure(
                f"此密钥文件不是本标段第 {position} 号开标席位登记的密钥",
                f"This key file is not the one registered for position {position} of this section",
                code="wrong_opener_key",
            )
        opener_keys = tuple(base64.b64decode(m["public_key"]) for m in section["members"])
        shares: list[dict[str, Any]] = []
        documents: list[dict[str, Any]] = []  # the documents shares, for the evaluation panel (never published)
        skipped: list[tuple[dict[str, Any], str, str]] = []
        disputes: list[dict[str, Any]] = []  # shares the bidder sealed badly to this seat
        bids = pack["bids"]
        say(
            f"第 {position} 号开标人：本机解密 {len(bids)} 份投标的报价密钥分片和投标文件密钥分片"
            "（投标文件密钥只交评标委员会查阅，不公布）",
            f"opener {position}: {len(bids)} bids (price, and documents for the evaluation panel)",
        )
        reserves = pack.get("reserve", [])
        if reserves:
            say("另有交易中心密封的标底/最高投标限价一份，一并解密其分片", "and the sealed reserve/control price")
        with progress_bar("解密分片 / opening shares", len(bids), unit_bytes=False) as update:
            for item in reserves:
                outcome = _open_one(item, section, opener_keys, position, hpke_key, role="reserve")
                if isinstance(outcome, bytes):
                    shares.append(
                        {
                            "reserve_id": item["reserve_id"],
                            "manifest_sha256": item["manifest_sha256"],
                            "envelope": "price",
                            "share": b64(outcome),
                        }
                    )
                else:
                    skipped.append(({**item, "bid_id": "标底/reserve", "bidder_credit_code": ""}, *outcome[:2]))
            for done, item in enumerate(bids, start=1):
                for envelope, into in (("price", shares), ("documents", documents)):
                    if envelope == "documents" and "documents_sealed_share" not in item:
                        continue  # a server that does not release the documents keys at the opening
                    outcome = _open_one(item, section, opener_keys, position, hpke_key, envelope=envelope)
                    if isinstance(outcome, bytes):
                        into.append(
                            {
                                "bid_id": item["bid_id"],
                                "manifest_sha256": item["manifest_sha256"],
                                "envelope": envelope,
                                "share": b64(outcome),
                            }
                        )
                    elif DISPUTABLE in outcome and not args.skip_bad_shares:
                        disputes.append({**item, "envelope": envelope, "why": outcome[:2]})
                    else:
                        skipped.append(({**item, "envelope": envelope}, *outcome[:2]))
                update(done)
        for item, zh, en in skipped:
            what_zh = "投标文件密钥分片" if item.get("envelope") == "documents" else "分片"
            what_en = "documents share" if item.get("envelope") == "documents" else "share"
            warn(
                f"投标 {item['bid_id']}（{item['bidder_credit_code']}）的{what_zh}未上传：{zh}",
                f"bid {item['bid_id']}: {what_en} not uploaded: {en}",
            )
        if disputes:
            shares += _disputes(args, disputes, hpke_key)
        document = shares_document(args.section_id, position, shares + documents)
        result = client.upload_shares(args.section_id, b64(document), b64(signing.sign(document)))
        say(
            f"已上传 {len(shares)} 份签名的密钥分片（报价），"
            f"另有 {len(documents)} 份投标文件密钥分片（供评标委员会查阅）",
            f"{len(shares)} signed price shares and {len(documents)} documents shares uploaded",
        )
        state = result["state"]
        uploaded = f"{result['uploaded']}/{result.get('n', result['k'])}"
        say(f"开标状态 / opening state: {STATES.get(state, state)}（已上传 / uploaded {uploaded}）")
        if state == "waiting" and result.get("shares_close_at"):
            # The share window (docs/envelope.md §10.2): the bids open when every opener is in, or when it ends
            # with at least k — never at the k-th upload, so that no opener chooses the outcome by staying away.
            say(
                f"全部 {result.get('n', '?')} 名开标人上传后即开标；否则在 {result['shares_close_at']} 分片窗口结束时"
                f"（至少 {result['k']} 名已上传）开标",
                "the bids open once every opener is in, or when the share window ends "
                f"({result['shares_close_at']}) with at least {result['k']}",
            )
        if state == "opening":
            # This upload made the opening due: a background job on the server opens the bids. Follow it, as the
            # opening hall does, until the record is out.
            say(
                f"开标人已齐，平台正在解密；开标大厅 / opening hall: {client.url(result['hall_url'])}",
                "every opener is in: the platform is opening the bids",
            )
            state = wait_for_opening(client, args.section_id)
            say(f"开标状态 / opening state: {STATES.get(state, state)}")
        if state == "opened":
            status = client.opening_status(args.section_id)
            notice_id = status.get("record_notice_id")
            opened = [r for r in status.get("results", []) if r["outcome"] == "opened"]
            say(f"开标记录已发布：成功解密 {len(opened)} 份", "the opening record is published")
            if notice_id:
                say(f"开标记录 / opening record: {client.url(f'/notices/{notice_id}')}")
                say(f"数据 / data: {client.url(f'/api/notices/{notice_id}')}")
    return 0


#: How often the opener's command asks how the opening job is getting on.
OPENING_POLL_SECONDS = 0.5


def wait_for_opening(client: BiddingClient, section_id: int, *, timeout: float = 3600) -> str:
    """Follow the opening job with a progress bar (bids opened of all) until it has ended; the final state."""
    status = client.opening_status(section_id)
    total = (status.get("progress") or {}).get("total") or 0
    started = time.monotonic()
    with progress_bar("解密投标 / opening bids", total, unit_bytes=False) as update:
        while status["state"] == "opening":
            update((status.get("progress") or {}).get("opened") or 0)
            if time.monotonic() - started > timeout:
                raise Failure(
                    "平台的开标解密尚未完成，请稍后在开标大厅查看",
                    "The platform has not finished opening the bids yet: see the opening hall later",
                    code="opening_still_running",
                )
            time.sleep(OPENING_POLL_SECONDS)
            status = client.opening_status(section_id)
        update(total)
    return str(status["state"])


def _disputes(args: argparse.Namespace, disputes: list[dict[str, Any]], hpke_key: OpenerPrivateKey) -> list[Any]:
    """The upload items disputing shares the bidder sealed badly — or, without --dispute, a stop: once uploaded,
    this seat cannot add a dispute, and leaving a share out would count against the openers."""
    from bidding.envelope import encode_private_key

    for item in disputes:
        zh, en = item["why"]
        warn(
            f"投标 {item['bid_id']}（{item['bidder_credit_code']}）的{item['envelope']}分片：{zh}",
            f"bid {item['bid_id']} ({item['envelope']}): {en}",
        )
    if not args.dispute:
        raise Failure(
            f"有 {len(disputes)} 份分片因投标人密封有误而无法解开。请选择：加 --dispute 公开本席位私钥，向所有人证明"
            "（本席位在此标段的其他分片也随之可读，但少于门限 k，不足以解开任何投标）；或加 --skip-bad-shares 只上传"
            "能解开的分片。上传后不能再提出异议，因此本次未上传任何内容。",
            f"{len(disputes)} shares the bidder sealed badly do not open. Choose: --dispute discloses this seat's "
            "private key so that anyone can check (this seat's other shares in the section become readable too, "
            "fewer than k, which opens nothing); or --skip-bad-shares uploads only the shares that open. Nothing "
            "was uploaded: a seat cannot add a dispute after its upload.",
            code="shares_disputable",
        )
    key = b64(encode_private_key(hpke_key.suite, hpke_key))
    say(
        f"对 {len(disputes)} 份分片提出异议：本席位私钥随之公开，供监督人员和公众核验",
        f"disputing {len(disputes)} shares: this seat's private key is disclosed so that anyone can check",
    )
    return [
        {
            "bid_id": item["bid_id"],
            "manifest_sha256": item["manifest_sha256"],
            "envelope": item["envelope"],
            "dispute_key": key,
        }
        for item in disputes
    ]


def _open_one(
    item: dict[str, Any],
    section: dict[str, Any],
    opener_keys: tuple[bytes, ...],
    position: int,
    hpke_key: OpenerPrivateKey,
    *,
    role: str = "bidder",
    envelope: str = "price",
) -> bytes | tuple[str, ...]:
    """Open the share of one envelope of one bid (or of the reserve price, ``role="reserve"``), or say why not
    (and so whose fault it is) without uploading anything."""
    from bidding.envelope import BidContext, EnvelopeError, open_share, parse_manifest

    manifest_bytes = base64.b64decode(item["manifest"])
    if hashlib.sha256(manifest_bytes).hexdigest() != item["manifest_sha256"]:
        return "平台给出的清单与其哈希不符（平台责任）", "the manifest does not match its hash (platform)"
    try:
        manifest = parse_manifest(manifest_bytes)
    except EnvelopeError as exc:
        return f"清单无效（{exc.message_zh}）", f"the manifest is invalid ({exc.message_en})"
    sealed = base64.b64decode(item["documents_sealed_share" if envelope == "documents" else "sealed_share"])
    if hashlib.sha256(sealed).hexdigest() != manifest.envelope(envelope).sealed_shares_sha256[position - 1]:
        return (
            "平台给出的密封分片与投标人签名的清单不符（平台责任）",
            "the sealed share differs from the manifest (platform)",
        )
    sealer = item["sealer_credit_code"] if role == "reserve" else item["bidder_credit_code"]
    if (manifest.section_id, manifest.trade_code, manifest.section_code, manifest.bidder_credit_code) != (
        section["section_id"],
        section["trade_code"],
        section["section_code"],
        sealer,
    ) or manifest.role != role:
        return (
            "清单所写标段或投标人与平台所给不符（平台责任）",
            "the manifest names another section or bidder (platform)",
        )
    if manifest.suite != section["suite"] or list(manifest.committee.opener_keys_sha256) != [
        hashlib.sha256(key).hexdigest() for key in opener_keys
    ]:
        return "清单所写开标小组与公告不符（平台不应接受）", "the manifest names another committee (platform)"
    context = BidContext(
        section_id=manifest.section_id,
        trade_code=manifest.trade_code,
        section_code=manifest.section_code,
        bidder_credit_code=manifest.bidder_credit_code,
        suite=section["suite"],
        k=int(section["k"]),
        n=int(section["n"]),
        opener_keys=opener_keys,
        role=role,
    )
    try:
        return open_share(section["suite"], hpke_key, context, envelope, position, sealed, manifest=manifest)
    except EnvelopeError as exc:
        # The sealed share is the one the bidder signed for, and this is the key of this position: a share
        # that does not open or does not match its commitment is the bidder's doing (docs/envelope.md §10.3).
        return (
            f"{exc.message_zh}（投标人责任，可用 --dispute 公开本席位私钥证明）",
            f"{exc.message_en} (the bidder's fault; --dispute proves it)",
            DISPUTABLE,
        )


#: Marks a share that failed through the bidder's sealing, which the opener may dispute (docs/envelope.md §10.3).
DISPUTABLE = "disputable"


# ------------------------------------------------------------------------------------------------
# The parser


def _connection_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--server", default=default, help="平台地址 / server URL (env BIDDING_SERVER; default http://127.0.0.1:8000)"
    )
    parser.add_argument("--token", default=default, help="API 令牌 / API token (env BIDDING_TOKEN; or `login`)")
    parser.add_argument(
        "--config", default=default, metavar="DIR", help="配置目录 / config dir (default ~/.config/trading-bidding)"
    )


def _passphrase_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--passphrase-file", metavar="F", help="从文件读取口令 / read the passphrase from F (or env BIDDING_PASSPHRASE)"
    )


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    _connection_options(common, suppress=True)
    parser = argparse.ArgumentParser(
        prog="bidding",
        description="投标人与开标人客户端：密封、递交、回执核验与开标 — the bidder's and opener's client.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version="bidding 0.1.0 (trading-bid/v1)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, handler: Callable[[argparse.Namespace], int], help_text: str, *, sub: Any = commands) -> Any:
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[common])
        p.set_defaults(handler=handler)
        return p

    p = command("login", cmd_login, "登录并保存 API 令牌 / sign in and store an API token")
    p.add_argument("--username", required=True)
    p.add_argument("--password", help="用于脚本；否则提示输入 / for scripts; otherwise prompted")
    p.add_argument("--label", default="", help="令牌备注 / token label")
    command("logout", cmd_logout, "吊销并删除保存的令牌 / revoke and forget the stored token")

    p = command("keygen", cmd_keygen, "生成投标签名密钥 / make an Ed25519 bid-signing key")
    p.add_argument("--out", required=True, metavar="key.pem")
    _passphrase_option(p)

    p = command("register", cmd_register, "登记签名公钥 / register the signing key with my organisation")
    p.add_argument("--key", required=True, metavar="key.pem")
    p.add_argument("--label", default="", help="备注 / label")
    p.add_argument("--certificate", metavar="cert.pem", help="CA 签发的证书 / an X.509 certificate for the key")
    p.add_argument("--credit-code", help="保存本单位统一社会信用代码供密封使用 / save my organisation's credit code")
    _passphrase_option(p)

    p = command("fetch", cmd_fetch, "获取并核对标段参数 / fetch a section's parameters, checked against the notice")
    p.add_argument("section_id", type=int, metavar="SECTION_ID")
    p.add_argument("--out", metavar="section.json")

    p = command("seal", cmd_seal, "在本机密封投标文件（离线）/ seal a bid on this machine (offline)")
    p.add_argument("--section", required=True, metavar="section.json")
    p.add_argument("--key", required=True, metavar="key.pem")
    p.add_argument("--price", required=True, metavar="price.toml", help="开标一览表 / the opening form (TOML or JSON)")
    p.add_argument("--documents", required=True, nargs="+", metavar="FILE_OR_DIR")
    p.add_argument("--out", required=True, metavar="bid.bid")
    p.add_argument("--credit-code", help="本单位统一社会信用代码 / my organisation's unified social credit code")
    p.add_argument("--force", action="store_true", help="覆盖已有的投标文件 / replace an existing bid file")
    _passphrase_option(p)

    p = command("submit", cmd_submit, "递交投标文件（可断点续传）/ submit a sealed bid (resumable)")
    p.add_argument("bid", metavar="bid.bid")
    p.add_argument("section_id", type=int, metavar="SECTION_ID")
    p.add_argument(
        "--chunk-mib", type=float, default=64, help="每次上传请求的大小 / MiB per upload request (default 64)"
    )
    p.add_argument(
        "--in-pieces",
        action="store_true",
        help="分段、可续传地上传（16 MiB 以下的投标文件默认一次递交）/ resumable upload in pieces even for a bid "
        "under 16 MiB (sent in one request by default)",
    )

    p = command("status", cmd_status, "查看本单位的投标 / my organisation's bid in a section")
    p.add_argument("section_id", type=int, metavar="SECTION_ID")
    p.add_argument("--save-receipt", metavar="receipt.json", help="保存回执 / save the receipt")

    p = command("withdraw", cmd_withdraw, "截止前撤回投标 / withdraw my bid before the deadline")
    p.add_argument("section_id", type=int, metavar="SECTION_ID")
    p.add_argument("--key", required=True, metavar="key.pem")
    p.add_argument("--bid", metavar="bid.bid", help="要撤回的投标文件 / the bid to withdraw (default: the active one)")
    p.add_argument("--yes", action="store_true", help="不再确认 / do not ask")
    _passphrase_option(p)

    p = command("verify-receipt", cmd_verify_receipt, "核验投标回执 / verify a bid receipt against the log")
    p.add_argument("receipt", metavar="receipt.json")
    p.add_argument("--offline", action="store_true", help="不联网 / without the network")
    p.add_argument("--log-key", metavar="VKEY", help="指定平台日志公钥 / pin the log's verifier key")

    from bidding import cli_reserve

    cli_reserve.add_commands(commands, command, _passphrase_option, parents=[common])

    opener = commands.add_parser("opener", help="开标人 / opener commands", parents=[common])
    opener_commands = opener.add_subparsers(dest="opener_command", metavar="COMMAND", required=True)
    p = command("keygen", cmd_opener_keygen, "生成开标密钥 / make an opener key pair", sub=opener_commands)
    p.add_argument("--suite", choices=SUITES, default=SUITES[0])
    p.add_argument("--out", required=True, metavar="opener.key")
    _passphrase_option(p)
    p = command("register", cmd_opener_register, "登记开标公钥 / register my opener keys", sub=opener_commands)
    p.add_argument("--key", required=True, metavar="opener.key")
    _passphrase_option(p)
    p = command("open", cmd_opener_open, "开标：解密并上传分片 / decrypt and upload my shares", sub=opener_commands)
    p.add_argument("section_id", type=int, metavar="SECTION_ID")
    p.add_argument("--key", required=True, metavar="opener.key")
    bad = p.add_mutually_exclusive_group()
    bad.add_argument(
        "--dispute",
        action="store_true",
        help="投标人密封给本席位的分片无法解开或与承诺不符时，公开本席位私钥以证明（docs/envelope.md §10.3）/ "
        "for a share the bidder sealed badly, disclose this seat's private key to prove it",
    )
    bad.add_argument(
        "--skip-bad-shares",
        action="store_true",
        help="不提出异议，只上传能解开的分片 / upload only the shares that open, without disputing the others",
    )
    _passphrase_option(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    from bidding.client import ApiError
    from trading.errors import DomainError

    try:
        return int(handler(args))
    except ApiError as exc:
        show_error(exc.code, exc.message_zh, exc.message_en, exc.details, exc.rule)
    except DomainError as exc:  # a local check of the envelope format (price form, documents, keys)
        show_error(exc.code, exc.message_zh, exc.message_en, exc.details, exc.rule)
    except Failure as exc:
        show_error(exc.code, exc.message_zh, exc.message_en)
    except OSError as exc:
        show_error("os_error", f"文件操作失败：{exc}", f"File error: {exc}")
    except KeyboardInterrupt:
        print("\n已中断 / interrupted", file=sys.stderr)
        return 130
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
