#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Record times: RFC 3339 UTC with nine fractional digits (`2026-11-29T18:10:00.123456789Z`).
/// Formatted by hand from `clock_gettime(CLOCK_REALTIME)`: the writer stamps every record, and
/// Foundation's formatters would pull ICU into the binary.
public enum RFC3339 {
    public static func now() -> String {
        var out: [UInt8] = []
        out.reserveCapacity(30)
        appendNow(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The time `seconds` (since the Unix epoch, UTC) plus `nanoseconds` (0..<1e9).
    public static func format(seconds: Int64, nanoseconds: Int) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(30)
        append(seconds: seconds, nanoseconds: nanoseconds, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func appendNow(to out: inout [UInt8]) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        append(seconds: Int64(ts.tv_sec), nanoseconds: Int(ts.tv_nsec), to: &out)
    }

    static func append(seconds: Int64, nanoseconds: Int, to out: inout [UInt8]) {
        appendSeconds(seconds, to: &out)
        appendFraction(nanoseconds, to: &out)
    }

    /// `YYYY-MM-DDTHH:MM:SS` (the writer caches it per second).
    static func appendSeconds(_ seconds: Int64, to out: inout [UInt8]) {
        let days = floorDivide(seconds, 86_400)
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = civil(fromDays: days)
        // RFC 3339 has four-digit years; clamp rather than print something unparseable.
        appendDigits(Int(min(max(year, 0), 9999)), count: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(month, count: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(day, count: 2, to: &out)
        out.append(UInt8(ascii: "T"))
        appendDigits(secondOfDay / 3600, count: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay / 60 % 60, count: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay % 60, count: 2, to: &out)
    }

    /// `.nnnnnnnnnZ` (built in a register: it runs for every record).
    static func appendFraction(_ nanoseconds: Int, to out: inout [UInt8]) {
        var rest = UInt64(min(max(nanoseconds, 0), 999_999_999))
        var text: (UInt64, UInt32) = (0, 0)  // 11 bytes: '.', 9 digits, 'Z'
        withUnsafeMutableBytes(of: &text) { raw in
            raw[0] = UInt8(ascii: ".")
            for index in stride(from: 9, through: 1, by: -1) {
                raw[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
            raw[10] = UInt8(ascii: "Z")
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[0..<11]))
        }
    }

    /// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
    /// `civil_from_days`).
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : (a - b + 1) / b
    }

    private static func appendDigits(_ value: Int, count: Int, to out: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<count { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
            rest %= divisor
            divisor /= 10
        }
    }
}
