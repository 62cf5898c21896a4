"""``jiaozi trust ...`` and ``jiaozi keys ...`` speak one language (issue 15 point 3):
Chinese with ``--lang zh``, English with ``--lang en``, times in Beijing time, whole lines,
and the common refusals of keys/ said in the language too.

The key ceremony of docs/key-ceremony.md is run with CliRunner in a ROOT home and an OFFICE
home; every output is scanned with the page scans' finders. Data is set aside: paths, the
office's id and name, key ids, algorithm names, serials, commands to run (in backticks)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from jiaozi.cli import EXIT_USAGE, main
from tests.factory import T0
from tests.factory.language import output_faults

OFFICE = "urn:jiaozi:office:11001"
NAME = "北京市教育委员会"
OFFICE_ARGS = ("--id", OFFICE, "--name", NAME, "--province", "11", "--office-code", "001")
# what these commands show as data: ids, names, algorithms, the standards a time is given in
DATA = (
    OFFICE,
    NAME,
    "EdDSA",
    "ES256",
    "SM2SM3",
    "RFC 3339",
    "POSIX",
    "JIAOZI_KEY_PASSPHRASE",
    "PKCS#8",
    "GB/T 2260",
    "nursery",  # a value given, and the code the refusal gives as an example of one
    "junior_middle",
    "初级中学",
)
ZONE = {"zh": re.compile(r"\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d 北京时间"), "en": "Beijing time"}


class Ceremony:
    def __init__(self, lang: str, tmp: Path) -> None:
        self.lang, self.tmp = lang, tmp
        self.runner = CliRunner()

    def run(
        self, home: str, *args: str, now: int = T0, code: int = 0, passphrase: str = "s3cret"
    ) -> str:
        env = {
            "JIAOZI_HOME": str(self.tmp / home),
            "JIAOZI_KEY_PASSPHRASE": passphrase,
            "JIAOZI_NOW": str(now),
            "JIAOZI_LANG": None,
        }
        result = self.runner.invoke(main, ["--lang", self.lang, *args], env=env, prog_name="jiaozi")
        assert result.exit_code == code, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        data = (
            *DATA,
            *re.findall(r"`[^`]+`", result.output),  # a command to run
            *re.findall(r"urn:[\w:]+", result.output),  # an office or the root, by id
            *re.findall(r"(?<![/\w.])[\w.]+-\d+\b", result.output),  # key ids: 11001-1
            *re.findall(r"\b[0-9a-f]{16,}\b", result.output),  # certificate serials
            *re.findall(r"O=[^）)]+", result.output),  # a certificate's subject
            *re.findall(r"(?:用法：|Usage:) (.+)", result.output),  # click's usage line
            *re.findall(r"'[^']+'", result.output),  # what click quotes: options, values
        )
        faults = output_faults(result.output, self.lang, data)
        assert faults == [], faults
        return result.output

    def said(self, output: str, zh: str, en: str) -> None:
        assert (zh if self.lang == "zh" else en) in output, output


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_key_ceremony_speaks_the_chosen_language(lang: str, tmp_path: Path) -> None:
    c = Ceremony(lang, tmp_path)
    out = c.run("root", "trust", "init", "--alg", "ES256")
    c.said(out, "信任列表第 1 版已由根密钥 root-1（ES256）签署", "trust list seq 1 signed by root")
    request, answer = str(tmp_path / "request.json"), str(tmp_path / "answer.json")
    out = c.run("office", "keys", "init-office", *OFFICE_ARGS, "--types", "1,2", "--out", request)
    c.said(out, "其中不含任何秘密", "no secret in it")
    out = c.run("root", "trust", "onboard", request, "--out", answer)
    c.said(out, "机构 urn:jiaozi:office:11001 已列入", "office urn:jiaozi:office:11001 listed")
    serial = re.search(r"[0-9a-f]{16,}", out)
    assert serial is not None, out
    out = c.run("office", "keys", "install", answer)
    assert re.search(ZONE[lang], out) if lang == "zh" else ZONE[lang] in out, out
    out = c.run("root", "trust", "show", now=T0 + 10)
    c.said(out, "可签发：1 幼儿园、2 小学", "may issue: 1 ")
    c.said(out, "签发机构（1 个）：", "Offices (1):")
    assert "kindergarten" not in out and "primary" not in out, out  # no codes
    out = c.run("office", "keys", "rotate", "--office", OFFICE, now=T0 + 100)
    c.said(out, "此处未重新签署信任列表", "trust list not re-signed here")
    c.said(out, "已停用 11001-1", "retired 11001-1")
    out = c.run("root", "keys", "compromise", "11001-1", "--at", str(T0 + 50), now=T0 + 200)
    c.said(out, "已标记为泄露；信任列表已重新签署", "compromised from")
    out = c.run("root", "trust", "show", now=T0 + 200)
    c.said(out, "已泄露", "COMPROMISED from")
    c.said(out, "（此刻没有可签名的密钥）", "(no key may sign now)")
    out = c.run("root", "trust", "export", "--out", str(tmp_path / "export"))
    c.said(out, "已写入", "wrote")
    out = c.run("root", "trust", "revoke-docsign", serial.group(0), now=T0 + 300)
    c.said(out, "已吊销文件签名证书", "revoked document-signing certificate")
    out = c.run("root", "keys", "rotate", "--root", now=T0 + 400)
    c.said(out, "国家根：新的签名密钥 root-2", "root: new signing key root-2")
    c.said(out, "核验方须固定信任新的", "verifiers must pin the new")
    out = c.run("self", "keys", "create", "--office", "urn:jiaozi:office:31002")
    c.said(out, "已创建密钥 31002-1", "created key 31002-1")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_common_refusals_of_keys_are_said_in_the_chosen_language(
    lang: str, tmp_path: Path
) -> None:
    c = Ceremony(lang, tmp_path)
    out = c.run("root", "trust", "show", code=1)
    c.said(out, "尚无信任列表", "does not exist: run `jiaozi trust init` first")
    c.run("root", "trust", "init")
    out = c.run("root", "trust", "init", code=1)
    c.said(out, "信任列表已初始化", "trust already initialised")
    out = c.run("root", "trust", "add-office", *OFFICE_ARGS, "--types", "1", passphrase="x", code=1)
    c.said(out, "口令不对", "wrong JIAOZI_KEY_PASSPHRASE")
    out = c.run("root", "trust", "add-office", *OFFICE_ARGS, "--types", "nursery", code=1)
    c.said(out, "未知的资格种类", "unknown qualification type")
    bad_province = ("--id", OFFICE, "--name", NAME, "--province", "1", "--office-code", "001")
    out = c.run("root", "trust", "add-office", *bad_province, "--types", "1", code=1)
    c.said(out, "省份代码须为两位", "province must be")
    out = c.run("root", "trust", "sync", "--office", OFFICE, code=1)
    c.said(out, "不在信任列表中", "is not in the trust list")
    c.run("root", "trust", "add-office", *OFFICE_ARGS, "--types", "1")
    out = c.run("root", "keys", "compromise", "nope-1", "--at", str(T0), code=1)
    c.said(out, "没有密钥 nope-1", "no key 'nope-1'")
    out = c.run("root", "keys", "rotate", "--root", "--alg", "SM2SM3", now=T0 + 5, code=1)
    c.said(out, "不能使用 `SM2`", "not SM2")
    out = c.run("root", "keys", "compromise", "11001-1", "--at", "2026-11-29T08:00", code=64)
    c.said(out, "没有时区偏移", "has no UTC offset")
    out = c.run("root", "keys", "rotate", code=EXIT_USAGE)
    c.said(out, "须且只能给出其一", "give exactly one of")
    out = c.run("root", "keys", "create", "--office", OFFICE, code=1)
    c.said(out, "已有密钥", "already has keys")
    out = c.run("root", "keys", "jwks", "--office", "urn:jiaozi:office:99001", code=1)
    c.said(out, "都没有 urn:jiaozi:office:99001 的密钥", "no keys for")
    out = c.run("root", "keys", "compromise", "11001-1", "--at", str(T0 + 9), now=T0 + 10)
    c.said(out, "没有可用的签名密钥", "has no usable signing key now")
    out = c.run("root", "keys", "compromise", "11001-1", "--at", str(T0 + 10), code=1)
    c.said(out, "拒绝将其推后到", "refusing to move that later")
    assert re.search(ZONE[lang], out) if lang == "zh" else ZONE[lang] in out, out
