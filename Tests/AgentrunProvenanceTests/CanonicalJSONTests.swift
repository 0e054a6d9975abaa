@testable import AgentrunProvenance
import Testing

@Suite struct CanonicalJSONTests {
    func encoded(_ value: JSONValue) -> String { text(CanonicalJSON.encode(value)) }

    @Test func scalarsAndContainers() {
        #expect(encoded(nil) == "null")
        #expect(encoded(true) == "true")
        #expect(encoded(false) == "false")
        #expect(encoded(0) == "0")
        #expect(encoded(-1) == "-1")
        #expect(encoded(.int(Int64.max)) == "9223372036854775807")
        #expect(encoded(.int(Int64.min)) == "-9223372036854775808")
        #expect(encoded([]) == "[]")
        #expect(encoded([:]) == "{}")
        #expect(encoded(["a": 1, "b": [true, nil]]) == #"{"a":1,"b":[true,null]}"#)
        #expect(encoded([[[1]], [:], ["x": []]]) == #"[[[1]],{},{"x":[]}]"#)
    }

    @Test func keysSortByUTF8Bytes() {
        // Uppercase before lowercase, shorter prefix first, non-ASCII after ASCII.
        #expect(encoded(["b": 1, "a": 2, "B": 3, "aa": 4, "é": 5, "z": 6]) == #"{"B":3,"a":2,"aa":4,"b":1,"z":6,"é":5}"#)
        // Code point order, not UTF-16 order: U+E000 (EE 80 80) sorts before U+1F600 (F0 9F 98 80),
        // though its UTF-16 unit 0xE000 is above the surrogate 0xD83D.
        #expect(encoded(["\u{1F600}": 1, "\u{E000}": 2]) == "{\"\u{E000}\":2,\"\u{1F600}\":1}")
        // Swift's String < would put the precomposed é (C3 A9) and e + U+0301 (65 CC 81) by
        // canonical equivalence; bytes put "e\u{301}" first. (Equal as Swift strings, so only one
        // can be a key; check ordering against "f".)
        #expect(encoded(["f": 1, "e\u{301}": 2]) == "{\"e\u{301}\":2,\"f\":1}")
    }

    @Test func stringEscapes() {
        #expect(encoded("a\"b\\c") == #""a\"b\\c""#)
        #expect(encoded("\u{8}\u{c}\n\r\t") == #""\b\f\n\r\t""#)
        #expect(encoded("\u{0}\u{1}\u{1f}") == #""\u0000\u0001\u001f""#)
        #expect(encoded("\u{1b}[31m") == #""\u001b[31m""#)
        // Written raw: '/', DEL, non-ASCII, astral.
        #expect(encoded("a/b\u{7f}é😀\u{2028}") == "\"a/b\u{7f}é😀\u{2028}\"")
    }

    @Test func roundTrip() throws {
        let value: JSONValue = [
            "argv": ["python3", "-c", "print(\"hi\")\n"], "n": -42, "big": .int(Int64.min), "nested": ["a": [["b": nil]]],
            "unicode": "日本語 \u{1F600} \u{0}", "t": true, "f": false,
        ]
        let bytes = CanonicalJSON.encode(value)
        #expect(try CanonicalJSON.decode(bytes) == value)
        #expect(CanonicalJSON.encode(try CanonicalJSON.decode(bytes)) == bytes)
    }

    @Test func decodeAcceptsCanonicalEscapes() throws {
        #expect(try CanonicalJSON.decode(Array(#""\u0000\u001f\b\f\n\r\t\"\\""#.utf8)) == "\u{0}\u{1f}\u{8}\u{c}\n\r\t\"\\")
        #expect(try CanonicalJSON.decode(Array("-9223372036854775808".utf8)) == .int(Int64.min))
        #expect(try CanonicalJSON.decode(Array("\"\u{7f}/\"".utf8)) == "\u{7f}/")
    }

    @Test(arguments: [
        (" {}", true), ("{} ", true), ("{}\n", true), (#"{"a": 1}"#, true), (#"{"a" :1}"#, true), ("[1, 2]", true),
        (#"{"b":1,"a":2}"#, true), (#"{"a":1,"a":2}"#, true), (#"{"aa":1,"a":2}"#, true),
        ("1.0", true), ("1e5", true), ("1E5", true), ("-0", true), ("01", true), ("-01", true),
        (#""\/""#, true), (#""\u00AB""#, true), (#""\u00ab""#, true), (#""\u000a""#, true), (#""\u0041""#, true),
        (#""\u001F""#, true), (#""\ud83d\ude00""#, true), ("\u{feff}{}", true),
        ("+1", false), ("tru", false), ("nul", false), ("{", false), (#"{"a"}"#, false), (#"{"a":}"#, false),
        ("[1,]", false), (#""abc"#, false), ("\"a\u{1}b\"", false), ("\"a\tb\"", false), ("9223372036854775808", false),
        ("-9223372036854775809", false), (#""\x41""#, false), ("{\"a\":1}x", false), ("", false), ("-", false),
    ])
    func decodeRejects(_ input: String, canonicalOnly: Bool) throws {
        #expect(throws: ProvenanceError.self) { try CanonicalJSON.decode(Array(input.utf8)) }
        let bytes: [UInt8] = Array(input.utf8)
        let error = bytes.withUnsafeBufferPointer { (buffer: UnsafeBufferPointer<UInt8>) -> ScanError? in
            var scanner = CanonicalScanner(buffer)
            do throws(ScanError) {
                _ = try scanner.document()
            } catch {
                return error
            }
            return nil
        }
        #expect(error?.canonicalOnly == canonicalOnly, "\(input): \(String(describing: error))")
    }

    @Test(arguments: [
        [0xc0, 0x80],  // overlong NUL
        [0xe0, 0x80, 0x80],  // overlong
        [0xed, 0xa0, 0x80],  // UTF-16 surrogate
        [0xf4, 0x90, 0x80, 0x80],  // past U+10FFFF
        [0xff], [0x80], [0xc3],
    ] as [[UInt8]])
    func decodeRejectsInvalidUTF8(_ bytes: [UInt8]) {
        let input = [UInt8(ascii: "\"")] + bytes + [UInt8(ascii: "\"")]
        #expect(throws: ProvenanceError.self) { try CanonicalJSON.decode(input) }
    }

    @Test func depthLimit() throws {
        func nested(_ depth: Int) -> [UInt8] {
            Array(String(repeating: "[", count: depth).utf8) + Array(String(repeating: "]", count: depth).utf8)
        }
        _ = try CanonicalJSON.decode(nested(CanonicalJSON.maxDepth))
        #expect(throws: ProvenanceError.self) { try CanonicalJSON.decode(nested(CanonicalJSON.maxDepth + 1)) }
        // A hostile line cannot exhaust the stack.
        #expect(throws: ProvenanceError.self) { try CanonicalJSON.decode(nested(100_000)) }
    }

    @Test func sha256() {
        #expect(CanonicalJSON.sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(CanonicalJSON.sha256Hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}

@Suite struct CanonicalJSONLargeObjectTests {
    @Test func manyKeysSortAndRoundTrip() throws {
        var members: [String: JSONValue] = [:]
        for i in 0..<5000 { members["k\(i * 7919 % 5000)"] = .int(Int64(i)) }
        let bytes = CanonicalJSON.encode(.object(members))
        #expect(try CanonicalJSON.decode(bytes) == .object(members))
    }
}
