// udsbus/protocol: the pure wire codec (framing, frame layouts, subjects, errors). No I/O.
export * from './errors.js';
export * from './varint.js';
export * from './frame-decoder.js';
export * from './subject.js';
export * from './frames.js';
export { encodeCbor, decodeCbor } from './cbor.js';
