import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

/**
 * kafkajs is carried with a patch (patches/kafkajs@2.2.4.patch): slicing-by-8 CRC32C and no
 * zero-filling in the encoder. The broker rejects a batch with a wrong CRC, so the integration
 * tests cover it end to end; these pin the checksum itself.
 */
const require = createRequire(import.meta.url);
const crc32C = require("kafkajs/src/protocol/recordBatch/crc32C/crc32C.js") as (b: Buffer) => number;
const Encoder = require("kafkajs/src/protocol/encoder.js") as new (
  size?: number,
) => {
  writeBuffer(b: Buffer): unknown;
  writeInt32(n: number): unknown;
  buffer: Buffer;
};

/** The textbook byte-at-a-time CRC32C (Castagnoli, reflected 0x82F63B78). */
function reference(buffer: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buffer) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe("patched kafkajs", () => {
  it("computes the standard CRC32C check value", () => {
    expect(crc32C(Buffer.from("123456789"))).toBe(0xe3069283);
    expect(crc32C(Buffer.alloc(0))).toBe(0);
  });

  it("agrees with the reference for every length around the 8-byte stride", () => {
    for (let length = 0; length < 300; length++) {
      const data = randomBytes(length);
      expect(crc32C(data), `length ${length}`).toBe(reference(data));
    }
  });

  it("encodes exactly what was written, whatever was in the recycled memory", () => {
    const encoder = new Encoder(4);
    const payload = randomBytes(5000);
    encoder.writeInt32(7);
    encoder.writeBuffer(payload);
    expect(encoder.buffer.length).toBe(4 + payload.length);
    expect(encoder.buffer.readInt32BE(0)).toBe(7);
    expect(encoder.buffer.subarray(4).equals(payload)).toBe(true);
  });
});
