@testable import AgentrunProvenance
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct RFC3339Tests {
    @Test(arguments: [
        (0, 0, "1970-01-01T00:00:00.000000000Z"),
        (0, 1, "1970-01-01T00:00:00.000000001Z"),
        (1_700_000_000, 123_456_789, "2023-11-14T22:13:20.123456789Z"),
        (951_782_400, 0, "2000-02-29T00:00:00.000000000Z"),
        (951_868_799, 999_999_999, "2000-02-29T23:59:59.999999999Z"),
        (1_709_164_800, 500_000_000, "2024-02-29T00:00:00.500000000Z"),
        (4_107_542_400, 0, "2100-03-01T00:00:00.000000000Z"),
        (1_798_761_599, 0, "2026-12-31T23:59:59.000000000Z"),
        (-1, 0, "1969-12-31T23:59:59.000000000Z"),
        (253_402_300_799, 0, "9999-12-31T23:59:59.000000000Z"),
    ] as [(Int64, Int, String)])
    func knownTimes(seconds: Int64, nanoseconds: Int, expected: String) {
        #expect(RFC3339.format(seconds: seconds, nanoseconds: nanoseconds) == expected)
    }

    @Test func nowIsCurrentAndWellFormed() {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let before = RFC3339.format(seconds: Int64(ts.tv_sec), nanoseconds: 0)
        let now = RFC3339.now()
        #expect(now.count == 30)
        #expect(now.hasSuffix("Z"))
        #expect(now >= before)
        let characters = Array(now)
        #expect(characters[4] == "-" && characters[7] == "-" && characters[10] == "T" && characters[13] == ":")
        #expect(characters[16] == ":" && characters[19] == ".")
    }
}
