import Testing

@testable import AgentrunJSON

@Suite struct JSONSerializerTests {
    @Test func compactWithSortedKeys() throws {
        let value = try JSON.parse(#" { "b" : [ 1 , 2.50 , -0 ] , "a" : { "z" : null , "y" : true } , "c" : "" } "#)
        #expect(value.serializedString == #"{"a":{"y":true,"z":null},"b":[1,2.50,-0],"c":""}"#)
    }

    @Test func keysSortByUTF8BytesNotByStringOrder() {
        // U+212B (E2 84 AB) normalises to U+00C5, so Swift's `<` puts it before U+00C6 (C3 86);
        // by bytes it comes after. U+FFFF (EF BF BF) sorts before U+10000 (F0 90 80 80) by bytes,
        // the other way round in UTF-16.
        let value: JSON = ["\u{212B}": 1, "\u{00C6}": 2, "\u{10000}": 3, "\u{FFFF}": 4, "Z": 5, "a": 6, "": 7]
        #expect(value.serializedString == "{\"\":7,\"Z\":5,\"a\":6,\"\u{00C6}\":2,\"\u{212B}\":1,\"\u{FFFF}\":4,\"\u{10000}\":3}")
    }

    @Test func minimalEscapes() {
        let value: JSON = .string("q\"b\\s/n\nr\rt\tb\u{8}f\u{C}z\u{0}u\u{1F}d\u{7F}é\u{2028}😀")
        let expected = #""q\"b\\s/n\nr\rt\tb\bf\fz\u0000u\u001fd"# + "\u{7F}é\u{2028}😀\""
        #expect(value.serializedString == expected)
        #expect(Array(value.serializedString.utf8) == value.serialized())
    }

    @Test func escapesInKeys() {
        let value: JSON = ["a\"b\n": "x"]
        #expect(value.serializedString == #"{"a\"b\n":"x"}"#)
    }

    @Test func emptyContainersAndScalars() {
        #expect(JSON.array([]).serializedString == "[]")
        #expect(JSON.object([:]).serializedString == "{}")
        #expect(JSON.null.serializedString == "null")
        #expect(JSON.bool(false).serializedString == "false")
        #expect(JSON.number(JSONNumber(-42)).serializedString == "-42")
        #expect(JSON.string("").serializedString == #""""#)
    }

    /// Serialize → parse gives the same value, and compact text is a fixed point.
    @Test(arguments: [
        #"{"a":[1,2.0,-3e+7,1E400,123456789012345678901234567890],"b":{"c":"\u0000\u001f\"\\"},"d":[true,false,null,[],{}]}"#,
        #"["\ud834\udd1e","é","€","\u2028","a/b","\/"]"#,
        #"{"":{"":[""]}}"#,
        #"-0.0e-0"#,
        #""plain""#,
    ])
    func roundTrips(_ text: String) throws {
        let value = try JSON.parse(text)
        let compact = value.serialized()
        #expect(try JSON.parse(compact) == value)
        #expect(try JSON.parse(compact).serialized() == compact)
        let pretty = value.prettyString()
        #expect(try JSON.parse(pretty) == value)
    }

    @Test func numbersKeepTheirText() throws {
        let value = try JSON.parse("[1.0,1e5,1E+05,-0,0.10]")
        #expect(value.serializedString == "[1.0,1e5,1E+05,-0,0.10]")
    }

    @Test func prettyString() {
        let value: JSON = ["b": [1, 2], "a": [:], "c": []]
        #expect(value.prettyString() == "{\n  \"a\": {},\n  \"b\": [\n    1,\n    2\n  ],\n  \"c\": []\n}")
        #expect(value.prettyString(indent: 0) == "{\n\"a\": {},\n\"b\": [\n1,\n2\n],\n\"c\": []\n}")
    }
}
