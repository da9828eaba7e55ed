"""Broker principals, their SCRAM credentials and the ACLs that grant each exactly its topics and groups.

One principal (Kafka user) per department service, the metrics service, the router, the partner HTTP gateway and
each partner (法院 court, 公安 police, 检察院 procuratorate, 信访 petition_office, 12345 hotline_12345, 110
dispatch_110: ``shared.topics.PARTNERS``), plus ``admin`` (super user, creates topics and ACLs).
The grant table is :func:`grants_for`; :func:`apply_acls` makes the broker match it for one topic prefix:
it upserts the SCRAM users, adds missing ACLs, removes stale ACLs of those users on that prefix's
resources, and creates the prefix's topics as admin (so no service needs CREATE).

aiokafka 0.14's ``AIOKafkaAdminClient`` has no ``create_acls``, and ``kafka.admin.AclCommand`` grants the
cross product of its principals x resources x operations, which would take ~25 JVM starts for the
exact table.  So one small Java program using Kafka's own ``Admin`` client (run by the JDK's source
launcher against the broker's jars) applies the whole table in one JVM.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caseflow_cli.infra.processes import require_tool, run_coro
from caseflow_cli.infra.settings import HOST, InfraError, InfraSettings, read_passwords
from shared.topics import DEPARTMENTS, PARTNERS, Topics

ADMIN = "admin"
METRICS = "metrics"
ROUTER = "router"
GATEWAY = "gateway"
SERVICES = (*DEPARTMENTS, METRICS, ROUTER, GATEWAY)
USERS = (ADMIN, *SERVICES, *PARTNERS)
MECHANISM = "SCRAM-SHA-512"
SCRAM_ITERATIONS = 8192
PREFIX_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")  # same rule as PlatformSettings.topic_prefix
ACL_TIMEOUT = 120.0


# ---- credentials -------------------------------------------------------------------------------


def load_credentials(path: Path) -> dict[str, str]:
    """``user -> password`` for every principal, from the JSON credentials file (see dev-credentials.json)."""
    return read_passwords(path, "users", USERS, fixed={"mechanism": MECHANISM})


def admin_password(settings: InfraSettings) -> str:
    return load_credentials(settings.credentials_file)[ADMIN]


def client_options(settings: InfraSettings, user: str = ADMIN, password: str | None = None) -> dict[str, Any]:
    """aiokafka keyword arguments for ``user`` against the broker these settings describe."""
    opts: dict[str, Any] = {"bootstrap_servers": f"{HOST}:{settings.kafka_port}"}
    if settings.secure:
        if password is None:
            password = load_credentials(settings.credentials_file)[user]
        opts |= {
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": MECHANISM,
            "sasl_plain_username": user,
            "sasl_plain_password": password,
        }
    return opts


# ---- the grant table ---------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Grant:
    """One ALLOW ACL: ``principal`` may do ``operation`` on a resource (any host)."""

    user: str
    resource_type: str  # TOPIC | GROUP | CLUSTER (Kafka's ResourceType names)
    name: str
    pattern: str  # LITERAL | PREFIXED
    operation: str  # READ | WRITE | DESCRIBE (Kafka's AclOperation names)

    @property
    def principal(self) -> str:
        return f"User:{self.user}"


def _topic(user: str, names: list[str], *ops: str) -> list[Grant]:
    return [Grant(user, "TOPIC", n, "LITERAL", op) for n in names for op in ops]


def _group(user: str, name: str, pattern: str) -> Grant:
    return Grant(user, "GROUP", name, pattern, "READ")


def metrics_writer_topics(prefix: str) -> str:
    """Name prefix of the faust metrics writer's internal topics (services/metrics/topics.py `app_id` + "-")."""
    return f"{prefix}.{METRICS}.writer-"


def grants_for(prefix: str) -> list[Grant]:
    """Every ACL for topic prefix ``prefix``; anything not listed is refused (no ACL means no access).

    Nobody but admin gets CREATE (admin creates all topics when the ACLs are applied), except the metrics writer on
    its own internal faust topics, whose names and settings faust decides.  Idempotent
    producers need no IDEMPOTENT_WRITE since Kafka 3.0 (WRITE on any topic suffices, KIP-679).
    """
    if not PREFIX_RE.match(prefix):
        raise InfraError(f"invalid topic prefix {prefix!r}: expected {PREFIX_RE.pattern}")
    t = Topics(prefix)
    departments = t.all_department_topics()
    inbound = [t.partner_inbound(p) for p in PARTNERS]
    outbound = [t.partner_outbound(p) for p in PARTNERS]
    out: list[Grant] = []
    for dept in DEPARTMENTS:
        out += _topic(dept, [t.department(dept)], "WRITE", "DESCRIBE")
        out += _topic(dept, [*departments, *inbound], "READ", "DESCRIBE")
        out += _topic(dept, [t.deadletter], "WRITE")
        out.append(_group(dept, f"{prefix}.{dept}.", "PREFIXED"))
    out += _topic(METRICS, [*departments, *inbound], "READ", "DESCRIBE")
    out += _topic(METRICS, [t.indicators, t.deadletter], "WRITE", "DESCRIBE")
    out.append(_group(METRICS, f"{prefix}.{METRICS}.", "PREFIXED"))
    # the faust writer creates and uses its own internal topics (table changelog, assignor leader), all named
    # `<prefix>.metrics.writer-*`: the one CREATE grant, confined to that name prefix
    out += [Grant(METRICS, "TOPIC", metrics_writer_topics(prefix), "PREFIXED", op)
            for op in ("CREATE", "READ", "WRITE", "DESCRIBE")]  # fmt: skip
    # the router forwards department notices to partners and is the one gatekeeper that tells a partner
    # why its inbound event was refused (so the sender gets one notice, not one per department)
    out += _topic(ROUTER, [*departments, *inbound], "READ", "DESCRIBE")
    out += _topic(ROUTER, [*outbound, t.deadletter], "WRITE", "DESCRIBE")
    out.append(_group(ROUTER, f"{prefix}.{ROUTER}.", "PREFIXED"))
    # the HTTP gateway speaks for partners that cannot speak Kafka: it produces onto their inbound topics
    # (after checking the partner token) and pages through their outbound topics without a consumer group
    out += _topic(GATEWAY, inbound, "WRITE", "DESCRIBE")
    out += _topic(GATEWAY, outbound, "READ", "DESCRIBE")
    for p in PARTNERS:
        out += _topic(p, [t.partner_inbound(p)], "WRITE", "DESCRIBE")
        out += _topic(p, [t.partner_outbound(p), t.indicators], "READ", "DESCRIBE")
        out.append(_group(p, f"{prefix}.partner.{p}.", "PREFIXED"))
    return sorted(set(out))


# ---- applying it -------------------------------------------------------------------------------

# Reads `user <name> <password>` and `acl <principal> <type> <name> <pattern> <op>` lines (tab separated).
_JAVA_SOURCE = r"""
import java.nio.file.*;
import java.util.*;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.common.acl.*;
import org.apache.kafka.common.resource.*;

public class CaseflowAclSync {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        try (var in = Files.newInputStream(Path.of(args[0]))) { props.load(in); }
        String prefix = args[2] + ".";
        List<UserScramCredentialAlteration> users = new ArrayList<>();
        Set<AclBinding> wanted = new LinkedHashSet<>();
        Set<String> principals = new HashSet<>();
        for (String line : Files.readAllLines(Path.of(args[1]))) {
            if (line.isBlank()) continue;
            String[] f = line.split("\t", -1);
            if (f[0].equals("user")) {
                users.add(new UserScramCredentialUpsertion(f[1],
                    new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, Integer.parseInt(f[3])), f[2]));
                principals.add("User:" + f[1]);
            } else {
                wanted.add(new AclBinding(
                    new ResourcePattern(ResourceType.valueOf(f[2]), f[3], PatternType.valueOf(f[4])),
                    new AccessControlEntry(f[1], "*", AclOperation.valueOf(f[5]), AclPermissionType.ALLOW)));
            }
        }
        try (Admin admin = Admin.create(props)) {
            admin.alterUserScramCredentials(users).all().get();
            Collection<AclBinding> existing = admin.describeAcls(AclBindingFilter.ANY).values().get();
            List<AclBindingFilter> stale = new ArrayList<>();
            int present = 0;
            for (AclBinding b : existing) {
                if (wanted.contains(b)) { present++; continue; }
                boolean ours = principals.contains(b.entry().principal())
                    && b.pattern().name().startsWith(prefix);
                if (ours) stale.add(b.toFilter());
            }
            if (!stale.isEmpty()) admin.deleteAcls(stale).all().get();
            admin.createAcls(new ArrayList<>(wanted)).all().get();
            System.out.println("users=" + users.size() + " acls=" + wanted.size()
                + " added=" + (wanted.size() - present) + " removed=" + stale.size());
        }
    }
}
"""


@dataclass(frozen=True)
class AclReport:
    prefix: str
    users: int
    acls: int
    added: int
    removed: int
    topics: list[str]


def _java_cmd(settings: InfraSettings, *args: str) -> list[str]:
    """``java`` running CaseflowAclSync: compiled once into the cache by javac, else from source (JEP 330)."""
    java = require_tool("java", "apply Kafka ACLs")
    classpath, main = f"{settings.kafka_libs}/*", _compiled_sync(settings)
    if main != str(settings.kafka_dir / "CaseflowAclSync.java"):
        classpath += os.pathsep + main
        main = "CaseflowAclSync"
    return [
        java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
        "-Dlog4j.configuration=file:" + str(settings.kafka_dir / "acl-log4j.properties"),
        "-cp", classpath, main, *args,
    ]  # fmt: skip


def _compiled_sync(settings: InfraSettings) -> str:
    """Directory holding the compiled class (keyed by source hash), or the source file if javac is absent."""
    source = settings.kafka_dir / "CaseflowAclSync.java"
    source.write_text(_JAVA_SOURCE)
    digest = hashlib.sha256(f"{settings.kafka_version}\n{_JAVA_SOURCE}".encode()).hexdigest()[:16]
    out = settings.cache / "acl-sync" / digest
    if (out / "CaseflowAclSync.class").is_file():
        return str(out)
    javac = shutil.which("javac")
    if not javac:
        return str(source)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=out.parent))
    try:
        proc = subprocess.run(
            [javac, "-nowarn", "-cp", f"{settings.kafka_libs}/*", "-d", str(tmp), str(source)],
            capture_output=True, text=True, timeout=ACL_TIMEOUT,
        )  # fmt: skip
        if proc.returncode != 0:
            raise InfraError(f"compiling the ACL helper failed:\n{proc.stderr[-2000:]}")
        with contextlib.suppress(OSError):  # another process may have won the race
            tmp.replace(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return str(out)


def _private_file(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def apply_acls(settings: InfraSettings, prefix: str) -> AclReport:
    """Make the (secure, running) broker grant exactly :func:`grants_for(prefix)`; create the topics."""
    if not settings.secure:
        raise InfraError("ACLs need the secure broker: set CASEFLOW_INFRA_SECURE=1 (and run `caseflow infra up`)")
    grants = grants_for(prefix)
    creds = load_credentials(settings.credentials_file)
    settings.kafka_dir.mkdir(parents=True, exist_ok=True)
    (settings.kafka_dir / "acl-log4j.properties").write_text(
        "log4j.rootLogger=WARN, stderr\n"
        "log4j.appender.stderr=org.apache.log4j.ConsoleAppender\n"
        "log4j.appender.stderr.Target=System.err\n"
        "log4j.appender.stderr.layout=org.apache.log4j.PatternLayout\n"
        "log4j.appender.stderr.layout.ConversionPattern=%p %m (%c)%n\n"
    )
    with tempfile.TemporaryDirectory(prefix="acl-", dir=settings.kafka_dir) as tmp:
        props, spec = Path(tmp) / "admin.properties", Path(tmp) / "spec.tsv"
        _private_file(
            props,
            f"bootstrap.servers={HOST}:{settings.kafka_port}\n"
            "security.protocol=SASL_PLAINTEXT\n"
            f"sasl.mechanism={MECHANISM}\n"
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{ADMIN}" password="{creds[ADMIN]}";\n'
            "default.api.timeout.ms=60000\n",
        )
        lines = [f"user\t{u}\t{pw}\t{SCRAM_ITERATIONS}" for u, pw in creds.items()]
        lines += [f"acl\t{g.principal}\t{g.resource_type}\t{g.name}\t{g.pattern}\t{g.operation}" for g in grants]
        _private_file(spec, "\n".join(lines) + "\n")
        try:
            proc = subprocess.run(
                _java_cmd(settings, str(props), str(spec), prefix),
                capture_output=True, text=True, timeout=ACL_TIMEOUT,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise InfraError(f"applying Kafka ACLs did not finish within {ACL_TIMEOUT:g} s") from None
    m = re.search(r"users=(\d+) acls=(\d+) added=(\d+) removed=(\d+)", proc.stdout)
    if proc.returncode != 0 or not m:
        err = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise InfraError(f"applying Kafka ACLs for prefix {prefix!r} failed:\n{err}")
    topics = create_topics(settings, prefix)
    users, acls, added, removed = (int(x) for x in m.groups())
    return AclReport(prefix, users, acls, added, removed, topics)


def create_topics(settings: InfraSettings, prefix: str) -> list[str]:
    """Create the prefix's topics as admin (idempotent); returns the names that were missing."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    topics = Topics(prefix)
    partitions = int(os.environ.get("CASEFLOW_PARTITIONS", "6"))

    async def run() -> list[str]:
        admin = AIOKafkaAdminClient(**client_options(settings), request_timeout_ms=30000)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            missing = [n for n in topics.all() if n not in existing]
            if missing:
                compact = {"cleanup.policy": "compact"}
                new = [
                    NewTopic(n, partitions, 1, topic_configs=compact if n in topics.compacted() else {})
                    for n in missing
                ]
                try:
                    resp = await admin.create_topics(new)
                except TopicAlreadyExistsError:
                    return []
                errors = [(name, code) for name, code, *_ in resp.topic_errors if code not in (0, 36)]
                if errors:
                    raise InfraError(f"creating topics failed (topic, Kafka error code): {errors}")
            return missing
        finally:
            await admin.close()

    result: list[str] = run_coro(lambda: asyncio.wait_for(run(), 60))
    return result
