import { readFile } from "node:fs/promises";
import { AppError } from "@sbs/shared";
import { parseDocument } from "yaml";
import { parseSinkConfig, type SinkConfig } from "./domain/sink-config.ts";

/** A config file that does not parse or validate: one message, every problem with its key path. */
export class SinkConfigError extends AppError {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(
      "sink_config_invalid",
      `${file}: invalid sink configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
}

/** Parses YAML text; `file` only names the source in messages. */
export function parseSinkConfigText(text: string, file = "sink config"): SinkConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new SinkConfigError(
      file,
      doc.errors.map((e) => `line ${e.linePos?.[0]?.line ?? "?"}: ${e.message.split("\n")[0]}`),
    );
  }
  const result = parseSinkConfig(doc.toJS());
  if (!result.ok)
    throw new SinkConfigError(
      file,
      result.issues.map((i) => `${i.path}: ${i.message}`),
    );
  return result.config;
}

export async function loadSinkConfigFile(path: string): Promise<SinkConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new AppError(
      "sink_config_unreadable",
      `cannot read the sink config file ${path}: ${(cause as Error).message}`,
      { cause },
    );
  }
  return parseSinkConfigText(text, path);
}
