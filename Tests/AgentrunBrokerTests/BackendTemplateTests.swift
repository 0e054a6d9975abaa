import AgentrunJSON
import Testing

@testable import AgentrunBroker

@Suite struct BackendTemplateTests {
    let secrets = SecretStore(values: ["TOKEN": "s3cret"])

    @Test func parsesLiteralsPlaceholdersAndBraces() throws {
        let template = try Template(parsing: "a {x} {{b}} {secret:TOKEN}}}")
        #expect(template.parts == [.literal("a "), .argument("x"), .literal(" {b} "), .secret("TOKEN"), .literal("}")])
        #expect(template.secretNames == ["TOKEN"])
        #expect(template.argumentNames == ["x"])
    }

    @Test(arguments: ["a}b", "{x", "{}", "{secret:}", "{a{b}}", "}"])
    func refusesMalformedTemplates(_ text: String) {
        #expect(throws: Template.Failure.self) { try Template(parsing: text) }
    }

    @Test func substitutesStringsNumbersAndBooleans() throws {
        let template = try Template(parsing: "{s}|{n}|{f}|{b}")
        let text = try template.render(
            arguments: ["s": "a b", "n": 42, "f": .number(JSONNumber(validatedText: "1.5e3")), "b": true], secrets: secrets
        )
        #expect(text == "a b|42|1.5e3|true")
    }

    @Test(arguments: [("missing", "is missing"), ("null", "is null"), ("array", "is an array"), ("object", "is an object")])
    func refusesValuesThatAreNotScalars(_ name: String, _ message: String) throws {
        let template = try Template(parsing: "x={\(name)}")
        let arguments: JSON = ["null": nil, "array": [1], "object": ["a": 1]]
        do {
            _ = try template.render(arguments: arguments, secrets: secrets)
            Issue.record("rendered \(name)")
        } catch {
            #expect(error.message.contains(message))
            #expect(error.message.contains("`\(name)`"))
        }
    }

    @Test func anArgumentValueCannotInjectASecretReference() throws {
        let template = try Template(parsing: "{a}")
        for value in ["{secret:TOKEN}", "{{secret:TOKEN}}", "{a}", "}{"] {
            #expect(try template.render(arguments: ["a": .string(value)], secrets: secrets) == value)
        }
    }

    @Test func secretsAreSubstitutedAndUnknownOnesFail() throws {
        #expect(try Template(parsing: "Bearer {secret:TOKEN}").render(arguments: [:], secrets: secrets) == "Bearer s3cret")
        #expect(throws: Template.Failure.self) { try Template(parsing: "{secret:OTHER}").render(arguments: [:], secrets: secrets) }
    }

    @Test func encodingAppliesToSubstitutedValuesOnly() throws {
        let template = try Template(parsing: "/a b/{x}")
        let text = try template.render(arguments: ["x": "c/d"], secrets: secrets) { value throws(Template.Failure) in
            HTTPURLTemplate.percentEncode(value)
        }
        #expect(text == "/a b/c%2Fd")
    }

    @Test func scrubberReplacesSecretsAndDropsAFragmentAtACut() {
        let scrubber = SecretScrubber(SecretStore(values: ["A": "abcdef", "B": "xyz"]))
        #expect(scrubber.scrub("1abcdef2xyz3") == "1[secret:A]2[secret:B]3")
        // A tail that starts inside a secret: its first maxLength-1 bytes are dropped...
        #expect(String(decoding: scrubber.scrub(Array("def--".utf8), dropLeading: 5), as: UTF8.self) == "")
        #expect(String(decoding: scrubber.scrub(Array("def--tail".utf8), dropLeading: 5), as: UTF8.self) == "tail")
        // ...unless a whole secret starts there.
        #expect(String(decoding: scrubber.scrub(Array("abcdef-".utf8), dropLeading: 5), as: UTF8.self) == "[secret:A]-")
        #expect(scrubber.scrub(["k abcdef": ["xyz", 1]] as JSON) == ["k [secret:A]": ["[secret:B]", 1]])
    }
}
