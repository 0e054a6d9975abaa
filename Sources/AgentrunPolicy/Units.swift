/// Human units in profiles and on the command line: sizes (`512MiB`, `2GiB`, `1024`) and
/// durations (`90s`, `30m`, `1h30m`, `250ms`). `unlimited` is a profile keyword, handled by the
/// decoder, not here.
///
/// Both parsers are strict: no sign, no whitespace, no exponent, case-sensitive suffixes, and a
/// value that does not fit is rejected rather than clamped.
public enum Units {
    /// Parses a byte size: digits with an optional fraction (at most 6 decimals, and the result
    /// must be a whole number of bytes: `1.5GiB`), then a suffix: `B` or none for bytes, binary
    /// `KiB`/`MiB`/`GiB`/`TiB`, decimal `KB`/`MB`/`GB`/`TB`. Nil when invalid or above `UInt64.max`.
    public static func parseSize(_ text: String) -> UInt64? {
        try? sizeValue(text).get()
    }

    /// Parses a duration into seconds: components `<number><unit>` with units `d`, `h`, `m`, `s`,
    /// `ms`, largest first and each at most once (`1h30m`, `1m30s`, `1.5h`, `250ms`). A bare number
    /// is seconds (`90`, `0.5`). Resolution is 1ns; at most 36500d (values must fit an Int64 of
    /// nanoseconds, so the sandbox can convert them without trapping). Nil when invalid.
    public static func parseDuration(_ text: String) -> Double? {
        try? durationValue(text).get()
    }

    /// Formats a byte size with the largest exact binary unit (`2GiB`, `1536MiB`, `100B`).
    public static func formatSize(_ bytes: UInt64) -> String {
        for (suffix, shift) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] as [(String, UInt64)]
        where bytes != 0 && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift)\(suffix)"
        }
        return "\(bytes)B"
    }

    /// Formats seconds compactly (`1h30m`, `2s`, `250ms`, `1d2h`); sub-millisecond parts are
    /// written as a decimal fraction of the seconds (`1.000001s`). Inverse of `parseDuration`.
    public static func formatDuration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds * 1e9 <= Double(maxDurationNanoseconds) else {
            return "\(seconds)s"
        }
        var rest = UInt64((seconds * 1e9).rounded())
        if rest == 0 { return "0s" }
        var text = ""
        for (suffix, size) in [("d", 86_400 * second), ("h", 3_600 * second), ("m", 60 * second)] {
            if rest >= size {
                text += "\(rest / size)\(suffix)"
                rest %= size
            }
        }
        let whole = rest / second
        let fraction = rest % second
        if fraction == 0 {
            if whole > 0 { text += "\(whole)s" }
        } else if fraction % millisecond == 0 {
            if whole > 0 { text += "\(whole)s" }
            text += "\(fraction / millisecond)ms"
        } else {
            var digits = String(fraction)
            digits = String(repeating: "0", count: 9 - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "\(whole).\(digits)s"
        }
        return text
    }

    // MARK: - Detailed parsing (the decoder reports the reason)

    static let second: UInt64 = 1_000_000_000
    static let millisecond: UInt64 = 1_000_000
    /// 36500 days: comfortably below `Int64.max` nanoseconds.
    static let maxDurationNanoseconds: UInt64 = 36_500 * 86_400 * second

    private static let sizeSuffixes: [String: UInt64] = [
        "": 1, "B": 1,
        "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
        "KB": 1_000, "MB": 1_000_000, "GB": 1_000_000_000, "TB": 1_000_000_000_000,
    ]
    private static let durationUnits: [(suffix: String, nanoseconds: UInt64)] = [
        ("d", 86_400 * second), ("h", 3_600 * second), ("m", 60 * second), ("s", second), ("ms", millisecond),
    ]

    static func sizeValue(_ text: String) -> Result<UInt64, UnitsError> {
        var scanner = NumberScanner(text)
        guard let number = scanner.number() else { return .failure(.init("expected a size such as 512MiB or 2GiB")) }
        let suffix = scanner.rest
        guard let unit = sizeSuffixes[suffix] else {
            return .failure(.init("unknown size unit '\(suffix)'; use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB"))
        }
        guard number.fractionDigits.count <= 6 else { return .failure(.init("a size has at most 6 decimals")) }
        guard let bytes = number.scaled(by: unit, maxFractionDigits: 6) else {
            let whole = DecimalNumber(integerDigits: number.integerDigits, fractionDigits: "")
            return .failure(.init(whole.scaled(by: unit, maxFractionDigits: 0) == nil || number.fractionDigits.isEmpty
                ? "size is larger than \(UInt64.max) bytes" : "size is not a whole number of bytes"))
        }
        return .success(bytes)
    }

    static func durationValue(_ text: String) -> Result<Double, UnitsError> {
        let example = "expected a duration such as 90s, 30m, 1h30m or 250ms"
        var scanner = NumberScanner(text)
        var total: UInt64 = 0
        var nextUnit = 0  // index into durationUnits: units must come largest first
        repeat {
            guard let number = scanner.number() else { return .failure(.init(example)) }
            let suffix = scanner.letters()
            let size: UInt64
            if suffix.isEmpty {
                guard total == 0, nextUnit == 0, scanner.atEnd else { return .failure(.init(example)) }
                size = second
            } else {
                guard let index = durationUnits.firstIndex(where: { $0.suffix == suffix }) else {
                    return .failure(.init("unknown duration unit '\(suffix)'; use d, h, m, s or ms"))
                }
                guard index >= nextUnit else {
                    return .failure(.init("duration units must go from largest to smallest, each once (1h30m)"))
                }
                nextUnit = index + 1
                size = durationUnits[index].nanoseconds
            }
            guard let part = number.scaled(by: size, maxFractionDigits: 9) else {
                return .failure(.init("duration is too long or more precise than 1ns"))
            }
            let (sum, overflow) = total.addingReportingOverflow(part)
            guard !overflow, sum <= maxDurationNanoseconds else {
                return .failure(.init("duration is longer than 36500d"))
            }
            total = sum
        } while !scanner.atEnd
        return .success(Double(total) / Double(second))
    }
}

/// Why a size or duration did not parse.
struct UnitsError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// A decimal number `digits[.digits]` kept as text so it can be scaled exactly.
private struct DecimalNumber {
    var integerDigits: Substring
    var fractionDigits: Substring

    /// `self * unit` when that is a whole number that fits, else nil.
    func scaled(by unit: UInt64, maxFractionDigits: Int) -> UInt64? {
        guard fractionDigits.count <= maxFractionDigits, let whole = UInt64(integerDigits) else { return nil }
        var (value, overflow) = whole.multipliedReportingOverflow(by: unit)
        guard !overflow else { return nil }
        guard !fractionDigits.isEmpty, let fraction = UInt64(fractionDigits) else { return value }
        var divisor: UInt64 = 1
        for _ in fractionDigits { divisor *= 10 }
        // fraction < 10^9 and unit < 2^64: multiply in full width, then divide exactly.
        let product = fraction.multipliedFullWidth(by: unit)
        guard product.high < divisor else { return nil }
        let (quotient, remainder) = divisor.dividingFullWidth(product)
        guard remainder == 0 else { return nil }
        (value, overflow) = value.addingReportingOverflow(quotient)
        return overflow ? nil : value
    }
}

/// Reads `digits[.digits]` then letters, byte by byte; anything else stops it.
private struct NumberScanner {
    private let bytes: [UInt8]
    private var index = 0

    init(_ text: String) {
        self.bytes = Array(text.utf8)
    }

    var atEnd: Bool { index == bytes.count }
    var rest: String { String(decoding: bytes[index...], as: UTF8.self) }

    mutating func number() -> DecimalNumber? {
        let integer = digits()
        guard !integer.isEmpty else { return nil }
        var fraction: Substring = ""
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            fraction = digits()
            guard !fraction.isEmpty else { return nil }
        }
        return DecimalNumber(integerDigits: integer, fractionDigits: fraction)
    }

    mutating func letters() -> String {
        let start = index
        let lower = UInt8(ascii: "a")...UInt8(ascii: "z")
        let upper = UInt8(ascii: "A")...UInt8(ascii: "Z")
        while index < bytes.count, lower.contains(bytes[index]) || upper.contains(bytes[index]) { index += 1 }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private mutating func digits() -> Substring {
        let start = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        return Substring(String(decoding: bytes[start..<index], as: UTF8.self))
    }
}
