import Testing

@testable import AgentrunJSON

@Suite struct JSONNumberValueTests {
    static func n(_ text: String) -> JSONNumber {
        guard let number = JSONNumber(parsing: text) else {
            Issue.record("not a JSON number: \(text)")
            return JSONNumber(0)
        }
        return number
    }

    @Test(arguments: [
        ["1", "1.0", "1e0", "1E+0", "10e-1", "0.1e1", "1.000", "100e-2", "0.001e3"],
        ["0", "-0", "0.0", "-0.0", "0e10", "-0e-5", "0.000e+99"],
        ["-12.5", "-125e-1", "-0.125E2", "-12.50"],
        ["123456789012345678901234567890", "1.2345678901234567890123456789e29"],
        ["1e400", "10e399", "0.01e402"],
        ["25e-3", "0.025", "2.5e-2"],
    ])
    func equalByValue(_ texts: [String]) {
        for a in texts {
            for b in texts {
                #expect(Self.n(a).equalsByValue(Self.n(b)), "\(a) vs \(b)")
                #expect(Self.n(a).compareByValue(Self.n(b)) == .equal, "\(a) vs \(b)")
            }
        }
    }

    @Test(arguments: [
        ("9007199254740993", "9007199254740992"),  // equal as Doubles
        ("1", "1.0000000000000000000001"),
        ("1", "-1"),
        ("1e400", "1e401"),
        ("0.1", "0.01"),
        ("10", "1"),
        ("100", "1000"),
        ("0", "1e-400"),
        ("12", "21"),
    ])
    func differentValues(_ a: String, _ b: String) {
        #expect(!Self.n(a).equalsByValue(Self.n(b)))
        #expect(!Self.n(b).equalsByValue(Self.n(a)))
    }

    @Test(arguments: [
        ("-2", "-1"), ("-1", "0"), ("-1e-400", "0"), ("0", "1e-400"), ("0.5", "1"), ("1", "1.0000000000000000000001"),
        ("9007199254740992", "9007199254740993"), ("1", "1e1"), ("0.01", "0.1"), ("-0.1", "-0.01"), ("99", "100"),
        ("1e400", "1e401"), ("-1e401", "-1e400"), ("12", "21"),
    ])
    func ordersByValue(_ smaller: String, _ larger: String) {
        #expect(Self.n(smaller).compareByValue(Self.n(larger)) == .less, "\(smaller) < \(larger)")
        #expect(Self.n(larger).compareByValue(Self.n(smaller)) == .greater, "\(larger) > \(smaller)")
    }

    /// Exponents too large to hold exactly are not rounded into a neighbour: only the same text is equal.
    @Test func hugeExponentsAreNotConflated() {
        let a = Self.n("1e9999999999999999999")
        let b = Self.n("1e9999999999999999998")
        #expect(a.equalsByValue(a))
        #expect(!a.equalsByValue(b))
        #expect(a.compareByValue(b) == nil)
        #expect(a.compareByValue(Self.n("1")) == nil)
    }

    @Test func parsingInitialiserValidates() {
        #expect(JSONNumber(parsing: "-1.5e3")?.text == "-1.5e3")
        for bad in ["", "01", "+1", "1.", ".5", "1e", "NaN", " 1", "1 ", "0x10", "\"1\"", "[1]", "1,"] {
            #expect(JSONNumber(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func int64AndDouble() {
        #expect(Self.n("-9223372036854775808").int64 == Int64.min)
        #expect(Self.n("9223372036854775808").int64 == nil)
        #expect(Self.n("1.0").int64 == nil)
        #expect(Self.n("2.5e1").double == 25)
    }

    @Test func deepEqualityComparesNumbersByValue() throws {
        let a = try JSON.parse(#"{"n":[1,{"x":1.0,"y":[0,"s"]}],"t":true}"#)
        let b = try JSON.parse(#"{"t":true,"n":[1e0,{"y":[-0.0,"s"],"x":10e-1}]}"#)
        #expect(a.equalsByValue(b))
        #expect(a != b)  // `==` compares number text
        let differing = [
            #"{"n":[1,{"x":1.5,"y":[0,"s"]}],"t":true}"#,  // a number's value
            #"{"n":[{"x":1.0,"y":[0,"s"]},1],"t":true}"#,  // array order
            #"{"n":[1,{"x":1.0,"y":[0,"s"]}],"t":true,"u":null}"#,  // extra key
            #"{"n":[1,{"x":1.0,"y":[0,"s"]}]}"#,  // missing key
            #"{"n":[1,{"x":1.0,"y":[0,"S"]}],"t":true}"#,  // string case
            #"{"n":[1,{"x":"1.0","y":[0,"s"]}],"t":true}"#,  // number vs string
            #"{"n":[1,{"x":1.0,"y":[0,"s"]}],"t":1}"#,  // boolean vs number
            #"{"n":[1,{"x":1.0,"y":[false,"s"]}],"t":true}"#,  // 0 vs false
            #"{"n":[1,{"x":1.0,"y":[null,"s"]}],"t":true}"#,  // 0 vs null
        ]
        for text in differing {
            let c = try JSON.parse(text)
            #expect(!a.equalsByValue(c), "\(text)")
            #expect(!c.equalsByValue(a), "\(text)")
        }
    }
}
