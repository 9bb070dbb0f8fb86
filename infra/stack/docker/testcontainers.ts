import { GenericContainer, Network, type StartedTestContainer, Wait } from "testcontainers";
import { freePort } from "../ports.ts";
import { postgresVersion, registryVersion } from "../probes.ts";
import type { StackEndpoints } from "../types.ts";
import { CCOMPAT_PATH, IMAGES, VERSIONS } from "../versions.ts";

/**
 * The same three services as infra/docker-compose.yml, as throwaway containers for one test run.
 * Kafka must advertise the port clients reach it on, so its host port is chosen before it starts.
 */
export async function startContainers(): Promise<{ endpoints: StackEndpoints; stop: () => Promise<void> }> {
  const network = await new Network().start();
  const started: StartedTestContainer[] = [];
  try {
    const postgres = await new GenericContainer(IMAGES.postgres)
      .withNetwork(network)
      .withNetworkAliases("postgres")
      .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: "trust", POSTGRES_DB: "sbs" })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start();
    started.push(postgres);
    await postgres.exec(["psql", "-U", "postgres", "-c", "CREATE DATABASE sbs_registry"]);

    const kafkaPort = await freePort();
    const [kafka, registry] = await Promise.all([
      new GenericContainer(IMAGES.kafka)
        .withNetwork(network)
        .withExposedPorts({ container: 9092, host: kafkaPort })
        .withEnvironment({
          KAFKA_NODE_ID: "1",
          KAFKA_PROCESS_ROLES: "broker,controller",
          KAFKA_CONTROLLER_QUORUM_VOTERS: "1@localhost:9093",
          KAFKA_LISTENERS: "PLAINTEXT://:9092,CONTROLLER://:9093",
          KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
          KAFKA_CONTROLLER_LISTENER_NAMES: "CONTROLLER",
          KAFKA_INTER_BROKER_LISTENER_NAME: "PLAINTEXT",
          KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
          KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: "1",
          KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: "1",
          KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: "1",
          KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: "0",
          KAFKA_AUTO_CREATE_TOPICS_ENABLE: "false",
        })
        .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
        .start(),
      new GenericContainer(IMAGES.registry)
        .withNetwork(network)
        .withEnvironment({
          APICURIO_STORAGE_KIND: "sql",
          APICURIO_STORAGE_SQL_KIND: "postgresql",
          APICURIO_DATASOURCE_URL: "jdbc:postgresql://postgres:5432/sbs_registry",
          APICURIO_DATASOURCE_USERNAME: "postgres",
          APICURIO_DATASOURCE_PASSWORD: "postgres",
        })
        .withExposedPorts(8080)
        .withWaitStrategy(Wait.forHttp("/health/ready", 8080))
        .start(),
    ]);
    started.push(kafka, registry);

    const databaseUrl = `postgres://postgres@${postgres.getHost()}:${postgres.getMappedPort(5432)}/sbs`;
    const schemaRegistryUrl = `http://${registry.getHost()}:${registry.getMappedPort(8080)}${CCOMPAT_PATH}`;
    const endpoints: StackEndpoints = {
      mode: "docker",
      kafkaBrokers: [`127.0.0.1:${kafkaPort}`],
      schemaRegistryUrl,
      databaseUrl,
      versions: {
        kafka: VERSIONS.kafka,
        registry: await registryVersion(schemaRegistryUrl),
        postgres: (await postgresVersion(databaseUrl)) ?? "unknown",
      },
    };
    return { endpoints, stop: () => stopAll(started, network) };
  } catch (error) {
    await stopAll(started, network);
    throw error;
  }
}

async function stopAll(containers: StartedTestContainer[], network: { stop: () => Promise<unknown> }) {
  await Promise.allSettled(containers.map((c) => c.stop()));
  await network.stop().catch(() => {});
}
