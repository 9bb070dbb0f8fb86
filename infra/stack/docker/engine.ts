import { spawnSync } from "node:child_process";

/** True when a Docker engine answers (the client alone, as on CI machines, is not enough). */
export function dockerAvailable(): boolean {
  const probe = spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], { stdio: "ignore", timeout: 8000 });
  return !probe.error && probe.status === 0;
}
