import { describe, expect, it } from "vitest";
import { IMAGES } from "../versions.ts";
import { type ComposeFile, composePlan, composeProblems, readCompose } from "./compose-file.ts";

const clone = (c: ComposeFile): ComposeFile => JSON.parse(JSON.stringify(c)) as ComposeFile;

describe("infra/docker-compose.yml, checked without a Docker engine", () => {
  const compose = readCompose();

  it("pins every image to the versions the no-Docker path runs, keeps the event log on its volume, and health-checks with shipped programs", () => {
    expect(composeProblems(compose)).toEqual([]);
    expect(compose.services["kafka"]?.image).toBe(IMAGES.kafka);
  });

  it("catches a broker logging outside its volume (the image's default /tmp/kraft-combined-logs)", () => {
    const broken = clone(compose);
    delete broken.services["kafka"]?.environment?.["KAFKA_LOG_DIRS"];
    expect(composeProblems(broken).join("\n")).toContain(
      "kafka: the broker writes its log to /tmp/kraft-combined-logs, which no volume holds",
    );
  });

  it("catches floating tags, unknown images and healthchecks the image is not documented to run", () => {
    const broken = clone(compose);
    (broken.services["postgres"] as { image: string }).image = "postgres:15";
    (broken.services["kafka"] as { healthcheck: { test: string[] } }).healthcheck.test = [
      "CMD-SHELL",
      "curl -f localhost:9092",
    ];
    const problems = composeProblems(broken).join("\n");
    expect(problems).toContain("postgres: image postgres:15 is not pinned to an exact version");
    expect(problems).toContain("not one of infra/stack/versions.ts");
    expect(problems).toContain(`kafka: healthcheck runs curl, which ${IMAGES.kafka} is not documented to contain`);
  });

  it("plans what `up` would start: every service with its image, ports and volumes", () => {
    const plan = composePlan(compose).join("\n");
    expect(plan).toContain("up -d --wait would start:");
    expect(plan).toMatch(
      /kafka +apache\/kafka:3\.9\.1; ports 127\.0\.0\.1:9092:9092; volumes kafka-data:\/var\/lib\/kafka\/data/,
    );
    expect(plan).toMatch(
      /registry +apicurio\/apicurio-registry:3\.0\.9; ports 127\.0\.0\.1:8081:8080; after registry-db/,
    );
  });
});
