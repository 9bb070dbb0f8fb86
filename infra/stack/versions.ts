/**
 * The one place where the stack's versions live. The Maven POM, the compose file and the
 * testcontainers images all follow these pins.
 *
 * - Kafka 3.9.1: kafkajs speaks protocol versions that Kafka 4.x removed (KIP-896).
 * - Apicurio Registry 3.0.9: the newest 3.x whose bundle runs on Java 17 (3.3.x is built for
 *   Java 21) and whose runnable tar.gz is published to Maven Central.
 */
export const VERSIONS = {
  kafka: "3.9.1",
  scala: "2.13",
  apicurio: "3.0.9",
  postgresImage: "postgres:15.20",
} as const;

export const IMAGES = {
  kafka: `apache/kafka:${VERSIONS.kafka}`,
  registry: `apicurio/apicurio-registry:${VERSIONS.apicurio}`,
  postgres: VERSIONS.postgresImage,
} as const;

/** Path of Apicurio's Confluent-compatible API, appended to the registry's base URL. */
export const CCOMPAT_PATH = "/apis/ccompat/v7";
