/// Numbers compared by value, exactly.
///
/// A policy `eq: 1` must match an agent's `1.0` or `1e0`, and must not match
/// `9007199254740993` against `9007199254740992` the way a comparison through `Double` would.
/// So both texts are reduced to an exact decimal (sign, significant digits, exponent) and
/// compared as such: no rounding, for integers of any size and for fractions.
extension JSONNumber {
    /// Whether both numbers denote the same value (`1`, `1.0`, `10e-1` and `1e0` are equal; `-0` equals `0`).
    public func equalsByValue(_ other: JSONNumber) -> Bool {
        if text == other.text { return true }
        guard let a = ExactDecimal(text), let b = ExactDecimal(other.text) else { return false }
        return a == b
    }

    /// Orders numbers by value, exactly. Nil when either text is not valid number syntax or has
    /// an exponent beyond ±10¹⁵.
    public func compareByValue(_ other: JSONNumber) -> NumberOrder? {
        guard let a = ExactDecimal(text), let b = ExactDecimal(other.text) else { return nil }
        return a.compare(b)
    }

    public enum NumberOrder: Sendable, Equatable {
        case less, equal, greater
    }
}

extension JSON {
    /// Deep equality where numbers compare by value (`{"n": 1}` equals `{"n": 1.0}`); strings,
    /// keys and everything else compare as `==` does.
    public func equalsByValue(_ other: JSON) -> Bool {
        switch (self, other) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a.equalsByValue(b)
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)):
            guard a.count == b.count else { return false }
            for (x, y) in zip(a, b) where !x.equalsByValue(y) { return false }
            return true
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            for (key, x) in a {
                guard let y = b[key], x.equalsByValue(y) else { return false }
            }
            return true
        default: return false
        }
    }
}

/// value = (negative ? -1 : 1) × 0.d₁d₂…dₙ × 10^scale, with d₁ ≠ 0 and dₙ ≠ 0; zero has no digits.
///
/// `scale` is an Int, so a text whose exponent exceeds ±10¹⁵ is not converted (nil): such a
/// number equals only its own text and is not ordered, rather than being rounded to a neighbour.
struct ExactDecimal: Equatable {
    var negative: Bool
    var digits: [UInt8]
    var scale: Int
    static let maxExponent = 1_000_000_000_000_000

    init?(_ text: String) {
        var bytes = Array(text.utf8)[...]
        negative = bytes.first == UInt8(ascii: "-")
        if negative { bytes = bytes.dropFirst() }
        var all: [UInt8] = []
        var pointPosition: Int? = nil
        while let byte = bytes.first, byte != UInt8(ascii: "e"), byte != UInt8(ascii: "E") {
            if byte == UInt8(ascii: ".") {
                guard pointPosition == nil, !all.isEmpty else { return nil }
                pointPosition = all.count
            } else {
                guard byte &- UInt8(ascii: "0") < 10 else { return nil }
                all.append(byte)
            }
            bytes = bytes.dropFirst()
        }
        guard !all.isEmpty, pointPosition != all.count else { return nil }
        var exponent = 0
        if !bytes.isEmpty {
            bytes = bytes.dropFirst()
            var exponentNegative = false
            if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                exponentNegative = sign == UInt8(ascii: "-")
                bytes = bytes.dropFirst()
            }
            guard !bytes.isEmpty else { return nil }
            for byte in bytes {
                guard byte &- UInt8(ascii: "0") < 10 else { return nil }
                exponent = exponent * 10 + Int(byte - UInt8(ascii: "0"))
                // Beyond this the scale arithmetic below could overflow: not comparable.
                guard exponent <= Self.maxExponent else { return nil }
            }
            if exponentNegative { exponent = -exponent }
        }
        // value = 0.all × 10^(integerDigits + exponent)
        var scale = (pointPosition ?? all.count) + exponent
        let firstNonZero = all.firstIndex { $0 != UInt8(ascii: "0") }
        guard let firstNonZero else {
            negative = false
            digits = []
            self.scale = 0
            return
        }
        scale -= firstNonZero
        let lastNonZero = all.lastIndex { $0 != UInt8(ascii: "0") } ?? firstNonZero
        digits = Array(all[firstNonZero...lastNonZero])
        self.scale = scale
    }

    func compare(_ other: ExactDecimal) -> JSONNumber.NumberOrder {
        let signA = digits.isEmpty ? 0 : (negative ? -1 : 1)
        let signB = other.digits.isEmpty ? 0 : (other.negative ? -1 : 1)
        if signA != signB { return signA < signB ? .less : .greater }
        if signA == 0 { return .equal }
        let magnitude = compareMagnitude(other)
        if signA > 0 { return magnitude }
        switch magnitude {
        case .less: return .greater
        case .greater: return .less
        case .equal: return .equal
        }
    }

    private func compareMagnitude(_ other: ExactDecimal) -> JSONNumber.NumberOrder {
        if scale != other.scale { return scale < other.scale ? .less : .greater }
        for (a, b) in zip(digits, other.digits) where a != b { return a < b ? .less : .greater }
        if digits.count == other.digits.count { return .equal }
        // No trailing zeros: the longer one has a non-zero digit further on.
        return digits.count < other.digits.count ? .less : .greater
    }
}
