"""What the verifier page says of a result (issue 15 point 4), run through the page's own
script (templates/verifier/static/verifier.js) in Node with a minimal stand-in for the DOM:
a check the input gave nothing to make is shown as not applicable, not as a grey
half-failure; a purpose copy's expiry reads as the last day its PDF prints; the restriction
line says what was checked and how recent the list is."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from typing import Any

import pytest

from credential import BEIJING
from verifier.web import STRINGS, TEMPLATES

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

# A DOM just large enough for the script: elements with classes, attributes, children and
# text; fetch answers from the test's fixtures; the result tree is printed as JSON.
_HARNESS = r"""
const fs = require('fs');
const vm = require('vm');
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
function Element(tag) {
  this.tagName = tag; this.className = ''; this.children = []; this.attrs = {}; this._text = '';
  const self = this;
  this.classList = { add: function (c) { self.className += ' ' + c; }, remove: function () {} };
}
Element.prototype.appendChild = function (c) { this.children.push(c); return c; };
Element.prototype.removeChild = function (c) { this.children.splice(this.children.indexOf(c), 1); };
Object.defineProperty(Element.prototype, 'firstChild', { get() { return this.children[0] || null; } });
Object.defineProperty(Element.prototype, 'textContent', {
  get() { return this._text + this.children.map(c => c.textContent).join(' '); },
  set(v) { this._text = String(v); this.children = []; },
});
Element.prototype.setAttribute = function (k, v) { this.attrs[k] = String(v); };
Element.prototype.getAttribute = function (k) { return k in this.attrs ? this.attrs[k] : null; };
Element.prototype.addEventListener = function () {};
Element.prototype.focus = function () {};
const result = new Element('div'); result.setAttribute('data-page', 'landing');
const strings = new Element('script'); strings._text = JSON.stringify(input.strings);
const html = new Element('html'); html.setAttribute('data-lang', input.lang);
const document = {
  documentElement: html,
  createElement: t => new Element(t),
  getElementById: id => ({ 'jz-strings': strings, result: result }[id] || null),
};
function answer(body, ok) {
  return Promise.resolve({ ok: ok, json: () => Promise.resolve(body) });
}
const sandbox = {
  document, window: {}, navigator: {}, JSON, Date, Math, Number, String, Array, Object,
  Promise, isNaN, decodeURIComponent, setTimeout,
  location: { hash: '#' + 'x'.repeat(40) },
  fetch: (url) => url === '/api/v1/sync-status'
    ? (input.sync === null ? Promise.reject(new Error('down')) : answer(input.sync, true))
    : answer(input.result, true),
};
vm.createContext(sandbox);
vm.runInContext(fs.readFileSync(input.script, 'utf8'), sandbox);
function walk(e, out) {
  const cls = e.className.trim().split(/\s+/);
  if (cls.includes('check')) {
    const part = n => e.children.flatMap(c => [c, ...c.children]).filter(c => c.className === n)
      .map(c => c.textContent);
    out.checks[e.attrs['data-check']] = {
      kind: cls.find(c => c.startsWith('check--')).slice(7),
      mark: part('check__mark').join(''), what: part('check__what').join(''),
      detail: part('check__detail').join(''),
    };
  }
  if (e.attrs['data-field']) { out.fields[e.attrs['data-field']] = e.children[1].textContent; }
  e.children.forEach(c => walk(c, out));
  return out;
}
setTimeout(() => { process.stdout.write(JSON.stringify(walk(result, { checks: {}, fields: {} }))); }, 50);
"""


def _render(result: dict[str, Any], lang: str, sync: dict[str, Any] | None) -> dict[str, Any]:
    payload = {
        "script": str(TEMPLATES / "static" / "verifier.js"),
        "strings": STRINGS[lang]["js"],
        "lang": lang,
        "result": result,
        "sync": sync,
    }
    out = subprocess.run(
        ["node", "-e", _HARNESS],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rendered: dict[str, Any] = json.loads(out.stdout)
    return rendered


def _check(name: str, ok: bool | None, detail: str) -> dict[str, Any]:
    return {"name": name, "ok": ok, "detail": detail}


# the checks' details as credential/_verify.py words them (contract section 5)
_GATE_OK = [
    _check("format", True, "格式正确"),
    _check("signature", True, "签名正确"),
    _check("issuer_trusted", True, "北京市教育委员会教师资格认定中心"),
]
_REST_OK = [
    _check("scope", True, "在认定权限内"),
    _check("validity_period", True, "在有效期内"),
    _check("status", True, "未被撤销或暂停"),
    _check(
        "restriction",
        True,
        "本证书编号不在发证机关的教师资格限制库中（人员准入查询请至全国登记中心）",
    ),
]


def _result(checks: list[dict[str, Any]], verdict: str = "valid", **cert: Any) -> dict[str, Any]:
    return {
        "verdict": verdict,
        "reason": None if verdict == "valid" else "malformed",
        "certificate": {"name": "张三", "certificate_number": "20261100111000001", **cert},
        "checks": checks,
        "status_as_of": "2026-12-05T12:00:00Z",
        "checked_at": "2026-12-05T12:05:00Z",
    }


_SYNC = {"trust_list": None, "status_lists": [], "restrictions_as_of": "2026-12-05T11:58:00Z"}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_qr_alone_shows_the_binding_as_not_applicable(lang: str) -> None:
    one_form = _check("binding", None, "仅提供了一种形式")
    shown = _render(_result([*_GATE_OK, *_REST_OK, one_form]), lang, _SYNC)
    binding = shown["checks"]["binding"]
    assert binding["kind"] == "na" and binding["mark"] == ""  # not the grey "–"
    assert "仅提供了一种形式" not in binding["detail"]
    expected = STRINGS[lang]["js"]["not_applicable"]["binding"]
    assert binding["detail"] == expected
    assert expected.startswith("不适用" if lang == "zh" else "Not applicable")
    # the checks that ran are shown as before
    assert all(shown["checks"][c["name"]]["kind"] == "ok" for c in _GATE_OK + _REST_OK)


def test_a_check_not_made_after_a_failure_stays_not_checked() -> None:
    """Only a lack of input makes "not applicable": after a failed gate, the unchecked
    binding is still "not checked" (grey), not hidden as if nothing were missing."""
    checks = [
        _check("format", True, "格式正确"),
        _check("signature", False, "签名不正确"),
        _check("issuer_trusted", None, "未检查"),
        *[_check(c["name"], None, "未检查") for c in _REST_OK],
        _check("binding", None, "未检查"),
    ]
    shown = _render(_result(checks, "not_valid"), "zh", _SYNC)
    assert shown["checks"]["binding"] == {
        "kind": "skip",
        "mark": "–",
        "what": "",
        "detail": "未检查",
    }
    assert shown["checks"]["signature"]["kind"] == "fail"
    assert shown["checks"]["restriction"]["what"] == ""  # not checked: nothing claimed


def test_both_forms_compared_are_still_shown_as_a_check() -> None:
    shown = _render(
        _result([*_GATE_OK, *_REST_OK, _check("binding", True, "二维码与电子证照一致")]),
        "zh",
        _SYNC,
    )
    assert shown["checks"]["binding"]["kind"] == "ok"
    assert shown["checks"]["binding"]["detail"] == "二维码与电子证照一致"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("zh", "2026年7月5日（含当日，北京时间）"),
        ("en", "5 July 2026 (that day included, Beijing time)"),
    ],
)
def test_a_purpose_copy_expiry_reads_as_its_pdf_prints_it(lang: str, expected: str) -> None:
    # issuer/holder/copies.py: the copy verifies through 2026-07-05 (Beijing), so its
    # token ends at 00:00 Beijing on 2026-07-06, and its PDF prints 有效期至2026年7月5日
    last_day = dt.date(2026, 7, 5)
    end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(0), BEIJING)
    expires_at = end.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert expires_at == "2026-07-05T16:00:00Z"
    result = _result([*_GATE_OK, *_REST_OK], purpose="应聘教师岗位", expires_at=expires_at)
    shown = _render(result, lang, _SYNC)
    assert shown["fields"]["expires_at"] == expected
    assert "7月6日" not in shown["fields"]["expires_at"] and "07-06" not in expected


@pytest.mark.parametrize(
    ("lang", "sync", "expected"),
    [
        ("zh", _SYNC, "已核对发证机关的教师资格限制库（数据截至 2026年12月5日 19:58 北京时间）。"),
        ("zh", None, "已核对发证机关的教师资格限制库。"),
        (
            "en",
            _SYNC,
            "Checked against the issuing office's restricted list (data as of "
            "5 December 2026 19:58 Beijing time).",
        ),
    ],
)
def test_the_restriction_line_says_what_was_checked(
    lang: str, sync: dict[str, Any] | None, expected: str
) -> None:
    shown = _render(_result([*_GATE_OK, *_REST_OK]), lang, sync)
    line = shown["checks"]["restriction"]
    assert line["what"] == expected
    assert line["detail"].startswith("本证书编号不在")  # the check's own outcome follows
    assert shown["checks"]["status"]["what"] == ""  # said of the restriction line only
