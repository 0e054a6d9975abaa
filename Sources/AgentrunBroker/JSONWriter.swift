import AgentrunJSON

/// Serializes the broker's responses through AgentrunJSON's one serializer: object keys sorted by
/// UTF-8 bytes, so a response (and the precomputed `tools/list` and JWKS bodies) is byte-for-byte
/// stable; numbers keep their text.
enum JSONWriter {
    static func encode(_ value: JSON) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        value.serialize(into: &out)
        return out
    }

    static func append(_ value: JSON, to out: inout [UInt8]) {
        value.serialize(into: &out)
    }

    static func appendString(_ s: String, to out: inout [UInt8]) {
        JSON.appendString(s, to: &out)
    }
}
