"""Which Kafka ``make up`` runs: the one broker, or a cluster of ``FLASHSALE_KAFKA_BROKERS``.

One broker (the default) is ``kafka`` on 9092, as always: a broker already
listening there is used as it is. A cluster is ``kafka-1`` … ``kafka-N`` on the
ports of ``FLASHSALE_KAFKA_BOOTSTRAP`` (by default 9092, 9094, 9096; each
controller on the next port), and every node must be one make started: a
stranger on one of its ports would split the quorum. Starting restarts only the
nodes that are missing. The two shapes never run together: switching needs
``make down`` first (their data directories differ, so nothing is mixed).
"""

from __future__ import annotations

from ops import kafka_cluster, processes, services
from ops.kafka_cluster import KafkaNode
from ops.processes import ProcessSpec
from ops.services import StackError
from streams.settings import Settings

SINGLE = "kafka"
START_SECONDS = 90.0


def cluster_nodes(settings: Settings) -> list[KafkaNode]:
    """The nodes of the local cluster, from the bootstrap's loopback ports."""
    addresses = settings.broker_addresses()
    if len(addresses) != settings.kafka_brokers:
        raise StackError(
            f"FLASHSALE_KAFKA_BROKERS={settings.kafka_brokers} but FLASHSALE_KAFKA_BOOTSTRAP"
            f" names {len(addresses)} broker(s); unset it or name one host:port per broker"
        )
    ports = []
    for address in addresses:
        host, _, port = address.rpartition(":")
        if host != kafka_cluster.HOST or not port.isdigit():
            raise StackError(
                f"make up runs brokers on {kafka_cluster.HOST} only, not {address!r}"
                " (FLASHSALE_KAFKA_BOOTSTRAP)"
            )
        ports.append(int(port))
    return kafka_cluster.local_nodes(ports, processes.RUN_DIR)


def node_spec(node: KafkaNode) -> ProcessSpec:
    return ProcessSpec(
        name=node.name,
        argv=kafka_cluster.node_argv(node),
        marker=str(node.properties),
        port=node.port,
    )


def broker_specs(settings: Settings) -> list[ProcessSpec]:
    """What make up runs for Kafka with these settings."""
    if settings.kafka_brokers == 1:
        return [services.kafka_spec()]
    return [node_spec(node) for node in cluster_nodes(settings)]


def stale_node_specs() -> list[ProcessSpec]:
    """Nodes of a cluster started earlier (pid files ``kafka-N.pid``): still ours to stop."""
    specs = []
    for pid_file in sorted(processes.RUN_DIR.glob("kafka-*.pid")):
        number = pid_file.stem.removeprefix("kafka-")
        if number.isdigit():
            node = KafkaNode(int(number), 0, 0, processes.RUN_DIR / pid_file.stem)
            specs.append(ProcessSpec(node.name, [], marker=str(node.properties)))
    return specs


def _running(spec: ProcessSpec) -> bool:
    return processes.running_pid(spec.name, spec.marker) is not None


def ensure_brokers(settings: Settings) -> list[str]:
    """Start the brokers that are missing; the names started."""
    if settings.replication_factor > settings.kafka_brokers:
        raise StackError(
            f"FLASHSALE_REPLICATION_FACTOR={settings.replication_factor} needs as many brokers;"
            f" make up runs FLASHSALE_KAFKA_BROKERS={settings.kafka_brokers}"
        )
    if settings.kafka_brokers == 1:
        if any(_running(spec) for spec in stale_node_specs()):
            raise StackError(
                "a Kafka cluster (.run/kafka-N.pid) is running: `make down` first,"
                " or keep FLASHSALE_KAFKA_BROKERS as it was"
            )
        started = services.ensure_server(services.kafka_spec(), services.prepare_kafka, 90)
        return [SINGLE] if started else []
    return _ensure_cluster(settings)


def _ensure_cluster(settings: Settings) -> list[str]:
    if _running(services.kafka_spec()):
        raise StackError(
            "the single Kafka broker (.run/kafka.pid) is running: `make down` first,"
            " or unset FLASHSALE_KAFKA_BROKERS"
        )
    nodes = cluster_nodes(settings)
    missing = [node for node in nodes if not _running(node_spec(node))]
    for node in missing:
        for port in (node.port, node.controller_port):
            if processes.port_open(port):
                raise StackError(
                    f"{node.name}: port {port} is taken by a process make did not start"
                )
    if not missing:
        return []
    services.prepare_kafka_libs()
    kafka_cluster.prepare(nodes, settings.replication_factor)
    # All at once: a node waits for a quorum of the others before it serves clients.
    pids = {node.name: processes.start(node_spec(node)) for node in missing}
    for node in missing:
        processes.wait_for_port(node.port, node.name, START_SECONDS, pids[node.name])
    return [node.name for node in missing]
