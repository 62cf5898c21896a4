"""Where ``make demo`` writes everything: one directory per machine of a real deployment.

Under ``var/demo/`` (in the current directory)::

    root/            the key ceremony's ROOT home: the root private key, and nothing serves
                     from it (in production an offline machine)
    registry/        the national registry's home: its own signing key, the trust list it
                     was given, registry.db
    office-11001/    北京 office's home: its token and document-signing keys, its installed
                     trust list, issuer.db
    office-31001/    上海 office's home: the same for that office
    verifier/        the verifier: root.jwks.json (public) and verifier.db; no private key
    published/       what the ceremony exports for everyone: trust-list.jwt, root.jwks.json
    env/<name>.env   each service's JIAOZI_* environment, its secrets included (0600)
    certificates/, pdf/, status/, logs/, demo.json, ADMIN-API-KEYS.txt,
    CLERK-API-KEYS.txt, SUPERVISOR-API-KEYS.txt (the officers' API keys; 0600),
    OFFICE-SIGN-IN.txt (office A's console officers: passwords, TOTP secrets; 0600),
    CLAIM-CODES.txt (the teachers' claim codes; 0600), batch-issue.env (office A's
    JIAOZI_* to source for `jiaozi batch issue`; 0600), sample-applicants-photos.zip (the
    sample CSV's synthetic photos, for its `--photos`)

docs/operations.md ("Where every key lives") describes the same tree, and
tests/jiaozi/test_demo.py checks the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BASE",
    "BATCH_ENV",
    "BATCH_PHOTOS",
    "CLAIM_CODES_FILE",
    "CLERK_KEYS_FILE",
    "OFFICES",
    "REGISTRY_NAME",
    "SAMPLE_CSV",
    "SIGN_IN_FILE",
    "SUPERVISOR_KEYS_FILE",
    "Layout",
    "OfficeSpec",
    "secret_file",
]

BASE = Path("var/demo")
# the files under BASE for whoever runs the demo (all 0600: keys, passwords, codes)
SIGN_IN_FILE = "OFFICE-SIGN-IN.txt"
CLERK_KEYS_FILE = "CLERK-API-KEYS.txt"
SUPERVISOR_KEYS_FILE = "SUPERVISOR-API-KEYS.txt"
CLAIM_CODES_FILE = "CLAIM-CODES.txt"
BATCH_ENV = "batch-issue.env"
# the sample CSV's photos (synthetic), one per row by application number, for --photos
BATCH_PHOTOS = "sample-applicants-photos.zip"
# the CSV the printed `jiaozi batch issue` command line names
SAMPLE_CSV = Path(__file__).resolve().parents[1] / "data" / "sample-applicants.csv"
REGISTRY_NAME = "全国教师资格限制库登记中心"


@dataclass(frozen=True)
class OfficeSpec:
    """One demo office: its id, name, codes and default port."""

    key: str  # "A" or "B", as the demo's lines call them
    office_id: str
    name: str
    short: str  # the city, for the printed lines
    province: str
    office_code: str
    port: int

    @property
    def home_name(self) -> str:
        return f"office-{self.province}{self.office_code}"


OFFICES = (
    OfficeSpec(
        "A",
        "urn:jiaozi:office:11001",
        "北京市教育委员会教师资格认定中心",
        "北京",
        "11",
        "001",
        8100,
    ),
    OfficeSpec(
        "B", "urn:jiaozi:office:31001", "上海市教师资格认定指导中心", "上海", "31", "001", 8101
    ),
)


@dataclass(frozen=True)
class Layout:
    """The demo's directories under ``base`` (absolute paths)."""

    base: Path

    @property
    def root(self) -> Path:
        return self.base / "root"

    @property
    def registry(self) -> Path:
        return self.base / "registry"

    def office(self, spec: OfficeSpec) -> Path:
        return self.base / spec.home_name

    @property
    def verifier(self) -> Path:
        return self.base / "verifier"

    @property
    def published(self) -> Path:
        return self.base / "published"

    @property
    def env(self) -> Path:
        return self.base / "env"

    @property
    def logs(self) -> Path:
        return self.base / "logs"

    @property
    def certificates(self) -> Path:
        return self.base / "certificates"

    @property
    def pdf(self) -> Path:
        return self.base / "pdf"

    @property
    def status(self) -> Path:
        return self.base / "status"

    def make(self) -> None:
        """Create the directories (the base must not exist or be empty of older runs)."""
        for path in (
            self.root, self.registry, *(self.office(s) for s in OFFICES), self.verifier,
            self.published, self.logs, self.certificates, self.pdf, self.status,
        ):  # fmt: skip
            path.mkdir(parents=True, exist_ok=True)
        self.env.mkdir(mode=0o700, parents=True, exist_ok=True)


def secret_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by its owner only (0600) from the start."""
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(text + "\n")
