import Testing
@testable import AgentrunPolicy

@Suite struct UnitsTests {
    @Test(arguments: [
        ("0", 0), ("1024", 1024), ("100B", 100), ("1KiB", 1024), ("512MiB", 512 << 20), ("2GiB", 2 << 30),
        ("1TiB", 1 << 40), ("1KB", 1_000), ("3MB", 3_000_000), ("2GB", 2_000_000_000), ("1TB", 1_000_000_000_000),
        ("1.5GiB", 1_610_612_736), ("0.5KiB", 512), ("1.0", 1), ("007MiB", 7 << 20),
        ("18446744073709551615", UInt64.max), ("16777215TiB", 16_777_215 << 40),
    ] as [(String, UInt64)])
    func parsesSizes(text: String, bytes: UInt64) {
        #expect(Units.parseSize(text) == bytes)
    }

    @Test(arguments: [
        "", " 1GiB", "1 GiB", "1GiB ", "-1", "+1", "1gib", "1G", "1k", "1.5", "1.GiB", ".5GiB", "1e3", "1_000",
        "unlimited", "0x10", "1.0000001GiB", "18446744073709551616", "16777216TiB", "1GiB1MiB", "1EiB", "1\u{0}",
    ])
    func rejectsSizes(text: String) {
        #expect(Units.parseSize(text) == nil)
    }

    @Test(arguments: [
        ("90", 90), ("0", 0), ("0.5", 0.5), ("90s", 90), ("30m", 1800), ("1h30m", 5400), ("250ms", 0.25),
        ("1.5h", 5400), ("1d", 86_400), ("1m30s", 90), ("1s500ms", 1.5), ("1d2h3m4s5ms", 93_784.005),
        ("0.001s", 0.001), ("36500d", 3_153_600_000), ("2s", 2),
    ] as [(String, Double)])
    func parsesDurations(text: String, seconds: Double) {
        #expect(Units.parseDuration(text) == seconds)
    }

    @Test(arguments: [
        "", "1h 30m", " 1h", "1h ", "-1s", "+1s", "30m1h", "1m1m", "1h30", "1.5.5s", "5min", "1H", "36501d",
        "36500d1ms", "1e3", "s", ".5s", "1.s", "99999999999999999999999d", "unlimited", "0.0000000001s", "1us",
    ])
    func rejectsDurations(text: String) {
        #expect(Units.parseDuration(text) == nil)
    }

    @Test(arguments: [
        (0, "0B"), (100, "100B"), (1000, "1000B"), (1024, "1KiB"), (1025, "1025B"), (1536 << 20, "1536MiB"),
        (2 << 30, "2GiB"), (1 << 40, "1TiB"), (1 << 50, "1024TiB"), (UInt64.max, "18446744073709551615B"),
    ] as [(UInt64, String)])
    func formatsSizes(bytes: UInt64, text: String) {
        #expect(Units.formatSize(bytes) == text)
        #expect(Units.parseSize(text) == bytes)
    }

    @Test(arguments: [
        (0, "0s"), (2, "2s"), (0.25, "250ms"), (5400, "1h30m"), (90, "1m30s"), (86_400, "1d"), (3600, "1h"),
        (90_061, "1d1h1m1s"), (1.5, "1s500ms"), (0.000001, "0.000001s"), (1.000000001, "1.000000001s"),
        (300, "5m"),
    ] as [(Double, String)])
    func formatsDurations(seconds: Double, text: String) {
        #expect(Units.formatDuration(seconds) == text)
        #expect(Units.parseDuration(text) == seconds)
    }

    @Test func durationRoundTrip() {
        for text in ["1d23h59m59s999ms", "0.123456789s", "12h", "45m", "1.25h", "3153599999.999999999"] {
            let seconds = Units.parseDuration(text)
            #expect(seconds != nil, "\(text)")
            if let seconds { #expect(Units.parseDuration(Units.formatDuration(seconds)) == seconds, "\(text)") }
        }
    }
}

@Suite struct YAMLTypingTests {
    @Test func scalarKinds() {
        #expect(ScalarKind(plain: "") == .null)
        #expect(ScalarKind(plain: "~") == .null)
        #expect(ScalarKind(plain: "null") == .null)
        #expect(ScalarKind(plain: "true") == .boolean)
        #expect(ScalarKind(plain: "false") == .boolean)
        #expect(ScalarKind(plain: "yes") == .string)
        #expect(ScalarKind(plain: "off") == .string)
        #expect(ScalarKind(plain: "True") == .string)
        #expect(ScalarKind(plain: "12") == .integer)
        #expect(ScalarKind(plain: "-12") == .integer)
        #expect(ScalarKind(plain: "1.5") == .float)
        #expect(ScalarKind(plain: "0x1F") == .string)
        #expect(ScalarKind(plain: "1GiB") == .string)
    }

    @Test func yamlOneOneBooleansAreStrings() throws {
        let profile = try builtinStore.load(yaml: """
            process:
              env:
                set:
                  A: yes
                  B: off
                  C: 'true'
                  D: 0x10
                  E: ""
                  F: |
                    two
                    lines
            """, file: "t.yaml")
        #expect(profile.process.envSet == ["A": "yes", "B": "off", "C": "true", "D": "0x10", "E": "", "F": "two\nlines"])
    }

    @Test func parserKeepsMarksAndQuoting() throws {
        let node = try YAMLParser.parse(Array("a:\n  - 'x'\n  - y\n".utf8), file: "f")
        guard case .mapping(let pairs, let mark)? = node else {
            Issue.record("expected a mapping")
            return
        }
        #expect(mark == YAMLMark(line: 1, column: 1))
        #expect(pairs.count == 1)
        guard case .sequence(let items, let listMark) = pairs[0].value else {
            Issue.record("expected a list")
            return
        }
        #expect(listMark == YAMLMark(line: 2, column: 3))
        guard case .scalar("x", quoted: true, let first) = items[0], case .scalar("y", quoted: false, _) = items[1] else {
            Issue.record("unexpected items \(items)")
            return
        }
        #expect(first == YAMLMark(line: 2, column: 5))
        #expect(try YAMLParser.parse([], file: "f") == nil)
        #expect(try YAMLParser.parse(Array("# only a comment\n".utf8), file: "f") == nil)
    }

    @Test func deepNestingIsRefused() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: ProfileError.self) { try YAMLParser.parse(Array(deep.utf8), file: "f") }
    }

    @Test func invalidUTF8IsAnError() throws {
        let dir = TemporaryDirectory()
        let path = dir.write("bad.yaml", "")
        dir.writeBytes("bad.yaml", Array("name: ".utf8) + [0xFF, 0x0A])
        let error = try #require(loadError(named: path, store: builtinStore))
        #expect(error.file == path)
        #expect(error.message.hasPrefix("invalid YAML input: invalid leading UTF-8 octet at byte 6"))
    }
}
