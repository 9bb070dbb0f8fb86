import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { StackError } from "../types.ts";
import { ownershipFlag, runLogged, spawnDaemon } from "./processes.ts";

export interface KafkaOptions {
  libDir: string;
  stateDir: string;
  port: number;
  controllerPort: number;
  logFile: string;
}

/** Single-node KRaft settings (broker and controller in one JVM), on loopback only. */
function serverProperties(o: KafkaOptions, dataDir: string): string {
  return [
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.voters=1@127.0.0.1:${o.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${o.port},CONTROLLER://127.0.0.1:${o.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${o.port}`,
    "controller.listener.names=CONTROLLER",
    "inter.broker.listener.name=PLAINTEXT",
    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    `log.dirs=${dataDir}`,
    // One node cannot replicate internal topics: without these, consumer groups and transactions fail.
    "offsets.topic.replication.factor=1",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "group.initial.rebalance.delay.ms=0",
    // Topics are provisioned explicitly (packages/shared ensureTopics), never by a typo.
    "auto.create.topics.enable=false",
    "num.partitions=1",
    "",
  ].join("\n");
}

const LOG4J = [
  "log4j.rootLogger=INFO, stdout",
  "log4j.appender.stdout=org.apache.log4j.ConsoleAppender",
  "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout",
  "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n",
  "log4j.logger.kafka=INFO",
  "log4j.logger.org.apache.kafka=INFO",
  "log4j.logger.state.change.logger=WARN",
  "log4j.logger.kafka.request.logger=WARN",
  "",
].join("\n");

/** Kafka's cluster ids are 16 random bytes in URL-safe base64; the CLI avoids a leading '-'. */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

/** Formats the log directory on first use, then starts the broker. Returns its PID. */
export function startKafka(o: KafkaOptions): number {
  const home = join(o.stateDir, "kafka");
  const dataDir = join(home, "data");
  mkdirSync(dataDir, { recursive: true });
  const props = join(home, "server.properties");
  const log4j = join(home, "log4j.properties");
  writeFileSync(props, serverProperties(o, dataDir));
  writeFileSync(log4j, LOG4J);
  const jvm = [`-Dlog4j.configuration=file:${log4j}`, "-cp", join(o.libDir, "*")];

  if (!existsSync(join(dataDir, "meta.properties"))) {
    const status = runLogged(
      "java",
      [...jvm, "kafka.tools.StorageTool", "format", "-t", clusterId(), "-c", props, "--ignore-formatted"],
      { cwd: home, logFile: o.logFile },
    );
    if (status !== 0) throw new StackError("Kafka", `formatting ${dataDir} failed (exit ${status})`, o.logFile);
  }

  return spawnDaemon({
    command: "java",
    args: ["-Xms256m", "-Xmx512m", "-XX:+UseG1GC", ownershipFlag(o.stateDir), ...jvm, "kafka.Kafka", props],
    cwd: home,
    logFile: o.logFile,
  });
}
