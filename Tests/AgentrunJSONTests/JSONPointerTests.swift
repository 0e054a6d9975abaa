import Testing

@testable import AgentrunJSON

@Suite struct JSONPointerTests {
    /// RFC 6901 §5's example document.
    static let document: JSON = {
        let text = #"""
            {"foo": ["bar", "baz"], "": 0, "a/b": 1, "c%d": 2, "e^f": 3, "g|h": 4,
             "i\\j": 5, "k\"l": 6, " ": 7, "m~n": 8}
            """#
        do { return try JSON.parse(text) } catch { return .null }
    }()

    @Test func emptyPointerIsTheWholeDocument() throws {
        let pointer = try JSONPointer("")
        #expect(pointer.tokens.isEmpty)
        #expect(pointer.resolve(in: Self.document) == Self.document)
        #expect(Self.document != .null)
    }

    @Test(arguments: [
        ("/foo", JSON.array(["bar", "baz"])),
        ("/foo/0", "bar"),
        ("/foo/1", "baz"),
        ("/", 0),
        ("/a~1b", 1),
        ("/c%d", 2),
        ("/e^f", 3),
        ("/g|h", 4),
        ("/i\\j", 5),
        ("/k\"l", 6),
        ("/ ", 7),
        ("/m~0n", 8),
    ] as [(String, JSON)])
    func rfc6901Examples(_ pointerText: String, _ expected: JSON) throws {
        let pointer = try JSONPointer(pointerText)
        #expect(pointer.resolve(in: Self.document) == expected)
        #expect(pointer.description == pointerText)
    }

    @Test(arguments: [
        "/foo/-",  // the element after the last: nothing to read
        "/foo/2",  // out of range
        "/foo/01",  // leading zero
        "/foo/00",
        "/foo/-1",
        "/foo/+1",
        "/foo/ 1",
        "/foo/1 ",
        "/foo/1e0",
        "/foo/99999999999999999999999999",  // overflows Int
        "/foo/0/x",  // into a string
        "/missing",
        "/a/b",  // "/" must be escaped as ~1
        "/M~0n",  // keys are case sensitive
        "//",
    ])
    func resolvesToNothing(_ pointerText: String) throws {
        let pointer = try JSONPointer(pointerText)
        #expect(pointer.resolve(in: Self.document) == nil, "\(pointerText)")
    }

    @Test func escapesDecodeInOrder() throws {
        // "~01" is "~" followed by "1", not "/".
        #expect(try JSONPointer("/~01").tokens == ["~1"])
        #expect(try JSONPointer("/~10").tokens == ["/0"])
        #expect(try JSONPointer("/a~0~1b/").tokens == ["a~/b", ""])
        #expect(try JSONPointer("").tokens == [])
        #expect(try JSONPointer("/").tokens == [""])
        #expect(JSONPointer(tokens: ["~1", "a/b"]).description == "/~01/a~1b")
        let value: JSON = ["~1": "tilde-one", "/": "slash"]
        #expect(try JSONPointer("/~01").resolve(in: value) == "tilde-one")
        #expect(try JSONPointer("/~1").resolve(in: value) == "slash")
    }

    @Test(arguments: ["foo", "#/foo", "/~", "/a~2b", "/a~", "/~a", "/m~n"])
    func rejectsInvalidPointers(_ text: String) {
        #expect(throws: JSONPointerError.self) { try JSONPointer(text) }
    }

    @Test func indexesArraysAndNestedObjects() throws {
        let value = try JSON.parse(#"{"a":[{"b":[10,11,12]}],"0":"zero-key"}"#)
        #expect(try JSONPointer("/a/0/b/2").resolve(in: value) == 12)
        #expect(try JSONPointer("/0").resolve(in: value) == "zero-key")  // "0" on an object is a key
        #expect(try JSONPointer("/a/0/b/3").resolve(in: value) == nil)
        #expect(try JSONPointer("/a/b").resolve(in: value) == nil)
        #expect(try JSONPointer("/x").resolve(in: [1, 2]) == nil)
        #expect(try JSONPointer("/0").resolve(in: "scalar") == nil)
    }

    /// Keys match byte for byte: "é" precomposed is not "e" + combining acute, though Swift's
    /// `==` says they are equal.
    @Test func keysMatchByteForByte() throws {
        let value: JSON = ["\u{E9}": 1]
        #expect(try JSONPointer("/\u{E9}").resolve(in: value) == 1)
        #expect(try JSONPointer("/e\u{301}").resolve(in: value) == nil)
    }

    @Test func arrayIndexSyntax() {
        #expect(JSONPointer.arrayIndex("0") == 0)
        #expect(JSONPointer.arrayIndex("10") == 10)
        #expect(JSONPointer.arrayIndex("9223372036854775807") == Int.max)
        #expect(JSONPointer.arrayIndex("9223372036854775808") == nil)
        #expect(JSONPointer.arrayIndex("") == nil)
        #expect(JSONPointer.arrayIndex("-") == nil)
        #expect(JSONPointer.arrayIndex("007") == nil)
        #expect(JSONPointer.arrayIndex("١") == nil)  // Arabic-Indic digit one
    }
}
