/**
 * The search tree of a MaxMind DB file, walked for an IPv4 address given as a 32-bit number.
 *
 * The maxmind reader takes the address as text, parses it into a byte array and reads each
 * node through a generic record reader; for the IPv4 addresses that are most of the traffic
 * kafkastore already has the number (it checked the address for reserved ranges with it), so
 * walking the 32 nodes here costs a fraction of that. The answer is the data pointer, which
 * names the record: GeoIP caches locations by it, and only a pointer it has not seen yet goes
 * through the reader to decode its record.
 *
 * Format (MaxMind DB spec, "Binary search tree section"): `nodeCount` nodes of two records of
 * `recordSize` bits each, left for a 0 bit, right for a 1 bit. A record below `nodeCount` is the
 * next node, equal to it means "no data", above it points into the data section. In an IPv6
 * tree, IPv4 addresses live under ::/96, so their walk starts after 96 left turns.
 */
export interface TreeMetadata {
  readonly nodeCount: number;
  /** Bits per record: 24, 28 or 32. */
  readonly recordSize: number;
  /** 4 or 6. */
  readonly ipVersion: number;
}

/** The record value for the address (> nodeCount), or 0 when the database has no data for it. */
export type Ipv4Search = (address: number) => number;

type RecordReader = (db: Buffer, offset: number) => number;

function readers(recordSize: number): { left: RecordReader; right: RecordReader; nodeBytes: number } {
  switch (recordSize) {
    case 24:
      return {
        nodeBytes: 6,
        left: (db, o) => ((db[o] as number) << 16) | ((db[o + 1] as number) << 8) | (db[o + 2] as number),
        right: (db, o) => ((db[o + 3] as number) << 16) | ((db[o + 4] as number) << 8) | (db[o + 5] as number),
      };
    case 28:
      // The middle byte holds the top 4 bits of both records: high nibble left, low nibble right.
      return {
        nodeBytes: 7,
        left: (db, o) =>
          (((db[o + 3] as number) & 0xf0) << 20) |
          ((db[o] as number) << 16) |
          ((db[o + 1] as number) << 8) |
          (db[o + 2] as number),
        right: (db, o) =>
          (((db[o + 3] as number) & 0x0f) << 24) |
          ((db[o + 4] as number) << 16) |
          ((db[o + 5] as number) << 8) |
          (db[o + 6] as number),
      };
    case 32:
      return { nodeBytes: 8, left: (db, o) => db.readUInt32BE(o), right: (db, o) => db.readUInt32BE(o + 4) };
    default:
      throw new Error(`unsupported MaxMind DB record size ${recordSize} (the format has 24, 28 and 32)`);
  }
}

export function ipv4TreeSearch(db: Buffer, metadata: TreeMetadata): Ipv4Search {
  const { nodeCount } = metadata;
  const { left, right, nodeBytes } = readers(metadata.recordSize);
  if (nodeCount * nodeBytes > db.length) {
    throw new Error(`the search tree (${nodeCount} nodes of ${nodeBytes} bytes) is larger than the file`);
  }
  let start = 0;
  if (metadata.ipVersion === 6) {
    for (let i = 0; i < 96 && start < nodeCount; i++) start = left(db, start * nodeBytes);
  }
  return function searchIpv4(address: number): number {
    let node = start;
    for (let bit = 31; bit >= 0 && node < nodeCount; bit--) {
      const offset = node * nodeBytes;
      node = ((address >>> bit) & 1) === 0 ? left(db, offset) : right(db, offset);
    }
    return node > nodeCount ? node : 0;
  };
}
